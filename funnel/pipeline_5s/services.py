"""The two clean-up actions of the pipeline 5S page, both real events through the ingest (the
one write path), attributed to the user who clicked.

"Still alive" records the deal's current stage again: an event that moves its last activity to
now and changes neither its stage nor its days in the stage (a repeat of the stage it is in adds
no passage), so the stale rule no longer counts it as lost.
"""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError

from funnel.ingest import IngestRejected, IngestResult, deal_record_stage
from funnel.models import Deal, Outcome

LOST_REASON = "No activity (pipeline 5S clean-up)"


def _open_check(deal: Deal) -> None:
    if not deal.is_open:
        raise ValidationError(f"This deal is {deal.get_status_display().lower()} already.")
    if deal.current_stage_id is None:
        raise ValidationError("This deal is in no stage of the team.")


def _record(**kwargs) -> IngestResult:
    try:
        return deal_record_stage(**kwargs)
    except IngestRejected as rejected:
        raise ValidationError([error.message for error in rejected.errors]) from rejected


def deal_mark_lost(*, deal: Deal, by: AbstractBaseUser) -> IngestResult:
    """A real "lost" outcome, now, with the clean-up as its reason."""
    _open_check(deal)
    return _record(deal=deal, outcome=Outcome.LOST, lost_reason=LOST_REASON, by=by)


def deal_still_alive(*, deal: Deal, by: AbstractBaseUser) -> IngestResult:
    """The deal was checked and is alive: its current stage recorded again, now."""
    _open_check(deal)
    return _record(deal=deal, stage=deal.current_stage, by=by)
