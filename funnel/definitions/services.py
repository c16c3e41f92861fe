"""Writes for operational definitions: a new version per edit, agreements to the current one."""

from __future__ import annotations

import datetime as dt
import logging
import time

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from funnel.definitions.diff import version_changes
from funnel.models import Agreement, DefinitionVersion, OperationalDefinition

logger = logging.getLogger(__name__)


@transaction.atomic
def definition_version_create(
    *,
    definition: OperationalDefinition,
    by: AbstractBaseUser,
    meaning: str,
    criteria: list[str],
    how_measured: str = "",
    examples: str = "",
    non_examples: str = "",
    effective_from: dt.date | None = None,
) -> DefinitionVersion:
    """The definition's next version. A version is never edited in place: numbers measured
    under the old one stay tied to the old wording."""
    started = time.perf_counter()
    # Lock the definition row so two managers saving at once get versions n+1 and n+2.
    OperationalDefinition.objects.select_for_update().filter(id=definition.id).first()
    current = definition.versions.order_by("-number").first()
    version = DefinitionVersion(
        definition=definition,
        number=(definition.versions.aggregate(n=Max("number"))["n"] or 0) + 1,
        meaning=meaning.strip(),
        criteria=[c.strip() for c in criteria if c.strip()],
        how_measured=how_measured.strip(),
        examples=examples.strip(),
        non_examples=non_examples.strip(),
        effective_from=effective_from or timezone.localdate(),
        author=by,
    )
    if current is not None and not version_changes(current, version):
        raise ValidationError("Nothing changed: a new version needs a change.")
    if current is not None and version.effective_from < current.effective_from:
        raise ValidationError(
            f"A new version cannot take effect before the current one "
            f"({current.effective_from:%d %b %Y})."
        )
    version.save()
    logger.info(
        "definition version team=%s definition=%s version=%d effective_from=%s by=%s in %.0f ms",
        definition.team.slug,
        definition.slug,
        version.number,
        version.effective_from,
        by.pk,
        (time.perf_counter() - started) * 1000,
    )
    return version


@transaction.atomic
def definition_agree(*, version: DefinitionVersion, user: AbstractBaseUser) -> Agreement:
    """Agree to a version; only the current one can be agreed to (agreeing twice is a no-op)."""
    current = version.definition.versions.order_by("-number").first()
    if current is None or current.id != version.id:
        raise ValidationError("Only the current version can be agreed to.")
    agreement, created = Agreement.objects.get_or_create(user=user, version=version)
    if created:
        logger.info(
            "definition agreed team=%s definition=%s version=%d user=%s",
            version.definition.team.slug,
            version.definition.slug,
            version.number,
            user.pk,
        )
    return agreement
