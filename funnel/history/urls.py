"""History pages, beside the pages they belong to."""

from django.urls import path

from funnel.history import views

urlpatterns = [
    path("teams/<slug:slug>/deals/<int:deal_id>/history/", views.deal_history, name="deal_history"),
    path(
        "teams/<slug:slug>/stages/<slug:stage_slug>/history/",
        views.stage_history,
        name="stage_history",
    ),
    path(
        "teams/<slug:slug>/definitions/<slug:definition_slug>/history/",
        views.definition_history,
        name="definition_history",
    ),
    path("teams/<slug:slug>/settings/history/", views.team_history, name="team_history"),
    path("teams/<slug:slug>/history.csv", views.team_history_csv, name="team_history_csv"),
]
