"""The kaizen app's pages under /teams/<slug>/: the kaizen board and cycles."""

from django.urls import path

from kaizen.views import cycles

app_name = "kaizen"

urlpatterns = [
    path("kaizen/", cycles.cycle_board, name="cycle_board"),
    path("kaizen/new/", cycles.cycle_new, name="cycle_new"),
    path("kaizen/<int:cycle_id>/", cycles.cycle_detail, name="cycle_detail"),
    path("kaizen/<int:cycle_id>/plan/", cycles.cycle_plan_edit, name="cycle_plan_edit"),
    path("kaizen/<int:cycle_id>/commit/", cycles.cycle_commit_view, name="cycle_commit"),
    path("kaizen/<int:cycle_id>/check/", cycles.cycle_check_view, name="cycle_check"),
    path("kaizen/<int:cycle_id>/close/", cycles.cycle_close_view, name="cycle_close"),
    path("kaizen/<int:cycle_id>/notes/", cycles.cycle_note_view, name="cycle_note"),
]
