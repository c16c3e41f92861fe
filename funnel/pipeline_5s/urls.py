"""The pipeline 5S page under /teams/<slug>/pipeline-5s/."""

from django.urls import path

from funnel.pipeline_5s import views

urlpatterns = [
    path("", views.pipeline_5s, name="pipeline_5s"),
    path("<int:deal_id>/lost/", views.pipeline_5s_mark_lost, name="pipeline_5s_mark_lost"),
    path("<int:deal_id>/alive/", views.pipeline_5s_still_alive, name="pipeline_5s_still_alive"),
]
