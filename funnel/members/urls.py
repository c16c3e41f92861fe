from django.urls import path

from funnel.members import views

urlpatterns = [
    path("teams/new/", views.team_new, name="team_new"),
    path("teams/<slug:slug>/members/", views.team_members, name="team_members"),
    path("teams/<slug:slug>/members/invite/", views.member_invite, name="member_invite"),
    path(
        "teams/<slug:slug>/members/<int:membership_id>/role/",
        views.member_role,
        name="member_role",
    ),
    path(
        "teams/<slug:slug>/members/<int:membership_id>/remove/",
        views.member_delete,
        name="member_remove",
    ),
    path("invitations/<str:token>/", views.invitation_accept_view, name="invitation_accept"),
]
