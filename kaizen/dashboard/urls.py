from django.urls import path

from kaizen.dashboard import views

urlpatterns = [
    path("dashboard/", views.company_dashboard, name="company_dashboard"),
    path("teams/<slug:slug>/dashboard/", views.team_dashboard, name="team_dashboard"),
]
