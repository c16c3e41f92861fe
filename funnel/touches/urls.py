from django.urls import path

from funnel.touches import views

urlpatterns = [
    path("teams/<slug:slug>/tactics/", views.tactics_page, name="tactics_team"),
    path("teams/<slug:slug>/tactics/<slug:tactic_slug>/", views.tactic_edit, name="tactic_edit"),
]
