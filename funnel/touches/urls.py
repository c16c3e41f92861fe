from django.urls import path

from funnel.touches import views

urlpatterns = [
    path("teams/<slug:slug>/tactics/", views.tactics_page, name="tactics_team"),
]
