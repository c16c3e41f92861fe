from django.urls import path

from funnel.winnable import views

urlpatterns = [
    path("winnable/", views.winnable_company, name="winnable_company"),
    path("winnable/departments/", views.departments_company, name="departments_company"),
    path("teams/<slug:slug>/winnable/", views.winnable_team, name="winnable_team"),
    path(
        "teams/<slug:slug>/winnable/departments/",
        views.departments_team,
        name="departments_team",
    ),
    path(
        "teams/<slug:slug>/characteristics/",
        views.characteristic_list,
        name="characteristic_list",
    ),
    path(
        "teams/<slug:slug>/characteristics/new/",
        views.characteristic_new,
        name="characteristic_new",
    ),
    path(
        "teams/<slug:slug>/characteristics/<int:characteristic_id>/active/",
        views.characteristic_active,
        name="characteristic_active",
    ),
]
