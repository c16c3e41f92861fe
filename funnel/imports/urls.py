from django.urls import path

from funnel.imports import views

urlpatterns = [
    path("teams/<slug:slug>/imports/", views.import_list, name="import_list"),
    path("teams/<slug:slug>/imports/<int:job_id>/", views.import_detail, name="import_detail"),
    path(
        "teams/<slug:slug>/imports/<int:job_id>/validate/",
        views.import_validate,
        name="import_validate",
    ),
    path("teams/<slug:slug>/imports/<int:job_id>/run/", views.import_start, name="import_start"),
    path("teams/<slug:slug>/imports/<int:job_id>/retry/", views.import_retry, name="import_retry"),
    path(
        "teams/<slug:slug>/imports/<int:job_id>/skipped.csv",
        views.import_skipped_csv,
        name="import_skipped_csv",
    ),
    path(
        "teams/<slug:slug>/imports/<int:job_id>/stages/",
        views.import_stages_create,
        name="import_stages_create",
    ),
    path(
        "teams/<slug:slug>/imports/<int:job_id>/owners/",
        views.import_owner_names,
        name="import_owner_names",
    ),
]
