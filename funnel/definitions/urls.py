"""Operational definitions under /teams/<slug>/definitions/."""

from django.urls import path

from funnel.definitions import views as definitions

app_name = "definitions"

urlpatterns = [
    path("", definitions.definition_list, name="definition_list"),
    path("rules/stale/", definitions.stale_rule, name="stale_rule"),
    path(
        "<slug:definition_slug>/",
        definitions.definition_detail,
        name="definition_detail",
    ),
    path(
        "<slug:definition_slug>/edit/",
        definitions.definition_edit,
        name="definition_edit",
    ),
    path(
        "<slug:definition_slug>/agree/",
        definitions.definition_agree_view,
        name="definition_agree",
    ),
]
