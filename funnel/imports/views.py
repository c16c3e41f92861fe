"""CSV import screens (managers only): list and upload, preview with mapping, validation
report, import progress (htmx polling) and summary."""

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.html import format_html
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from funnel.imports.assist import (
    import_job_owner_names_set,
    import_job_stages_create,
    stages_to_create,
)
from funnel.imports.facts import characteristic_refs, team_facts
from funnel.imports.faults import import_job_retry, import_job_retryable
from funnel.imports.forms import MappingForm, OwnerFileForm, StartForm, UploadForm
from funnel.imports.links import import_result_links
from funnel.imports.parsing import csv_parse
from funnel.imports.problems import problem_text, skipped_rows_csv
from funnel.imports.selectors import import_job_get_for_user, import_jobs_for_team
from funnel.imports.service import (
    ImportRefused,
    import_job_create,
    import_job_queue,
    import_job_validate,
    import_max_bytes,
    import_preview,
    import_table,
)
from funnel.models import ImportJob, ImportStatus
from funnel.selectors import Action, team_get_for_user

EDITABLE = {ImportStatus.UPLOADED, ImportStatus.INVALID, ImportStatus.VALID}
SHOWN_ERRORS = 500


@require_http_methods(["GET", "POST"])
@login_required
def import_list(request: HttpRequest, slug: str) -> HttpResponse:
    access = team_get_for_user(user=request.user, slug=slug, action=Action.MANAGE)
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            job = import_job_create(
                team=access.team,
                uploaded_by=request.user,
                filename=upload.name,
                content=upload.read(),
            )
        except ImportRefused as error:
            form.add_error("file", str(error))
        else:
            return redirect("import_detail", slug=slug, job_id=job.id)
    jobs = import_jobs_for_team(team=access.team)
    context = {
        "access": access,
        "team": access.team,
        "form": form,
        "jobs": jobs,
        "max_mb": import_max_bytes() // 1_048_576,
    }
    return render(request, "imports/list.html", context, status=400 if form.errors else 200)


def _mapping_form(job: ImportJob, data=None) -> MappingForm:
    facts = team_facts(team=job.team)
    # The file's own column order: PostgreSQL's jsonb does not keep the mapping's key order.
    header = csv_parse(bytes(job.content), max_rows=1).header
    return MappingForm(
        data,
        header=header,
        mapping=job.mapping,
        stages=facts.stages,
        characteristics=characteristic_refs(facts),
    )


def _reopened(job: ImportJob) -> dict | None:
    """The job's reopened deals for the page, their dates as dates."""
    reopened = (job.summary or {}).get("reopened")
    if not reopened:
        return None
    shown = [
        {**deal, "closed_at": dt.datetime.fromisoformat(deal["closed_at"])}
        for deal in reopened.get("shown", [])
    ]
    return {**reopened, "shown": shown, "more_deals": reopened["deals"] - len(shown)}


def _detail(
    request: HttpRequest,
    job: ImportJob,
    access,
    form=None,
    start_form=None,
    owner_form=None,
    status=200,
) -> HttpResponse:
    template = "imports/detail.html"
    context = {
        "access": access,
        "team": access.team,
        "job": job,
        "reopened": _reopened(job),
        "retryable": import_job_retryable(job),
    }
    if request.htmx:
        template += "#progress"
    elif job.status in EDITABLE:
        preview = import_preview(job=job)
        bad = {(e["row"], e["column"]) for e in job.errors}
        context["preview"] = preview
        context["preview_rows"] = [
            (number, [(c, (number, h) in bad) for c, h in zip(cells, preview.header, strict=True)])
            for number, cells in preview.rows
        ]
        context["form"] = form or _mapping_form(job)
        context["errors"] = job.errors[:SHOWN_ERRORS]
        context["start_form"] = start_form or _start_form(job)
        context["owner_form"] = owner_form or OwnerFileForm()
        context["owner_names"] = len((job.mapping or {}).get("owner_names") or {})
        context["stages_to_create"] = stages_to_create(job=job)
        context["problems"] = [problem_text(g) for g in (job.summary or {}).get("problems", [])]
    if job.status == ImportStatus.DONE:
        context["links"] = import_result_links(job=job)
        skipped = (job.summary or {}).get("skipped_bad")
        context["skipped"] = skipped and [problem_text(g) for g in skipped["groups"]]
    if job.started_at and job.finished_at:
        context["duration"] = (job.finished_at - job.started_at).total_seconds()
    response = render(request, template, context, status=status)
    patch_vary_headers(response, ["HX-Request"])
    return response


@require_GET
@login_required
def import_detail(request: HttpRequest, slug: str, job_id: int) -> HttpResponse:
    job, access = import_job_get_for_user(
        user=request.user, slug=slug, job_id=job_id, with_content=not request.htmx
    )
    return _detail(request, job, access)


@require_POST
@login_required
def import_validate(request: HttpRequest, slug: str, job_id: int) -> HttpResponse:
    job, access = import_job_get_for_user(
        user=request.user, slug=slug, job_id=job_id, with_content=True
    )
    if job.status not in EDITABLE:
        return redirect("import_detail", slug=slug, job_id=job.id)
    form = _mapping_form(job, request.POST)
    if not form.is_valid():
        return _detail(request, job, access, form=form, status=400)
    import_job_validate(job=job, mapping=form.mapping())
    return redirect("import_detail", slug=slug, job_id=job.id)


def _start_form(job: ImportJob, data=None) -> StartForm:
    bad_rows = job.status == ImportStatus.INVALID
    return StartForm(data, reopenings=bool((job.summary or {}).get("reopened")), bad_rows=bad_rows)


def _startable(job: ImportJob) -> bool:
    skippable = job.status == ImportStatus.INVALID and (job.summary or {}).get("skippable")
    return job.status == ImportStatus.VALID or bool(skippable)


@require_POST
@login_required
def import_start(request: HttpRequest, slug: str, job_id: int) -> HttpResponse:
    job, access = import_job_get_for_user(user=request.user, slug=slug, job_id=job_id)
    if not _startable(job):
        return redirect("import_detail", slug=slug, job_id=job.id)
    form = _start_form(job, request.POST)
    if not form.is_valid():
        job, access = import_job_get_for_user(
            user=request.user, slug=slug, job_id=job_id, with_content=True
        )
        return _detail(request, job, access, start_form=form, status=400)
    import_job_queue(
        job=job,
        on_reopen=form.cleaned_data["on_reopen"],
        skip_bad_rows=form.cleaned_data.get("skip_bad_rows", False),
    )
    return redirect("import_detail", slug=slug, job_id=job.id)


@require_POST
@login_required
def import_retry(request: HttpRequest, slug: str, job_id: int) -> HttpResponse:
    """Retry an import that stopped: it resumes after the rows already written."""
    job, _ = import_job_get_for_user(user=request.user, slug=slug, job_id=job_id)
    if import_job_retry(job=job):
        messages.success(request, "The import is queued again; it resumes where it stopped.")
    else:
        messages.info(request, "This import cannot be retried.")
    return redirect("import_detail", slug=slug, job_id=job.id)


@require_GET
@login_required
def import_skipped_csv(request: HttpRequest, slug: str, job_id: int) -> HttpResponse:
    """The rows an import skipped, as in the file, each with its row number and reasons."""
    job, _ = import_job_get_for_user(user=request.user, slug=slug, job_id=job_id, with_content=True)
    skipped = (job.summary or {}).get("skipped_bad")
    if job.status != ImportStatus.DONE or not skipped:
        raise Http404("This import skipped no rows.")
    body = skipped_rows_csv(import_table(job=job), skipped["groups"])
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    name = job.filename.rsplit(".", 1)[0] or "import"
    response["Content-Disposition"] = f'attachment; filename="{name}-skipped-rows.csv"'
    return response


@require_POST
@login_required
def import_stages_create(request: HttpRequest, slug: str, job_id: int) -> HttpResponse:
    """ "Create these stages": the file's unmapped stage labels become the team's stages, mapped.
    The mapping form's choices, when posted with it and valid, are kept."""
    job, access = import_job_get_for_user(
        user=request.user, slug=slug, job_id=job_id, with_content=True
    )
    if job.status not in EDITABLE:
        return redirect("import_detail", slug=slug, job_id=job.id)
    form = _mapping_form(job, request.POST)
    mapping = form.mapping() if request.POST and form.is_valid() else None
    try:
        created = import_job_stages_create(job=job, by=request.user, mapping=mapping)
    except ImportRefused as error:
        messages.error(request, str(error))
    else:
        if created:
            messages.success(
                request,
                format_html(
                    "Created {} stage{}: {}, and mapped the file's labels to them. Check their "
                    'stations and targets in the <a href="{}">stage editor</a>.',
                    len(created),
                    "s" if len(created) != 1 else "",
                    ", ".join(s.name for s in created),
                    reverse("stage_editor", args=[slug]),
                ),
            )
        else:
            messages.info(request, "Every stage label is mapped already; no stage was created.")
    return redirect("import_detail", slug=slug, job_id=job.id)


@require_POST
@login_required
def import_owner_names(request: HttpRequest, slug: str, job_id: int) -> HttpResponse:
    """Owner names for this import from a user export (id and name columns)."""
    job, access = import_job_get_for_user(
        user=request.user, slug=slug, job_id=job_id, with_content=True
    )
    if job.status not in EDITABLE:
        return redirect("import_detail", slug=slug, job_id=job.id)
    owner_form = OwnerFileForm(request.POST, request.FILES)
    if owner_form.is_valid():
        upload = owner_form.cleaned_data["owners"]
        try:
            named, ids = import_job_owner_names_set(job=job, content=upload.read())
        except ImportRefused as error:
            owner_form.add_error("owners", f"{upload.name}: {error}")
        else:
            messages.success(
                request,
                f"Owner names from {upload.name}: {named:,} of the {ids:,} owner id"
                f"{'s' if ids != 1 else ''} in this file named"
                + ("; the others stay “Owner <id>”, their id kept." if named < ids else "."),
            )
            return redirect("import_detail", slug=slug, job_id=job.id)
    return _detail(request, job, access, owner_form=owner_form, status=400)
