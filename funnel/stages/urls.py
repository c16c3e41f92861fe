"""The stage editor under /teams/<slug>/stages/."""

from django.urls import path

from funnel.stages import views

urlpatterns = [
    path("", views.stage_editor, name="stage_editor"),
    path("add/", views.stage_add, name="stage_add"),
    path("<slug:stage_slug>/edit/", views.stage_edit, name="stage_edit"),
    path("<slug:stage_slug>/move/", views.stage_move_view, name="stage_move"),
    path("<slug:stage_slug>/retire/", views.stage_retire_view, name="stage_retire"),
    path("<slug:stage_slug>/merge/", views.stage_merge_view, name="stage_merge"),
]
