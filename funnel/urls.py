from django.urls import include, path

from funnel import views

urlpatterns = [
    path("", views.home, name="home"),
    path("teams/<slug:slug>/", views.team_overview, name="team_overview"),
    path("", include("funnel.imports.urls")),
    path("", include("funnel.winnable.urls")),
    path("", include("funnel.touches.urls")),
    path("", include("funnel.glossary.urls")),
    path("", include("funnel.team_settings.urls")),
    path("", include("funnel.history.urls")),
    path("teams/<slug:slug>/deals/", include("funnel.deals.urls")),
    path("teams/<slug:slug>/definitions/", include("funnel.definitions.urls")),
    path("teams/<slug:slug>/pipeline-5s/", include("funnel.pipeline_5s.urls")),
    path("teams/<slug:slug>/stages/", include("funnel.stages.urls")),
    path(
        "teams/<slug:slug>/stages/<slug:stage_slug>/targets/",
        views.stage_targets,
        name="stage_targets",
    ),
]
