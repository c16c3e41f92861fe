from django.urls import path

from funnel.team_settings import views

urlpatterns = [
    path("teams/<slug:slug>/settings/", views.team_settings, name="team_settings"),
]
