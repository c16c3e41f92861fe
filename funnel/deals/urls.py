from django.urls import path

from funnel.deals import touch_views, views

urlpatterns = [
    path("", views.deal_list, name="deal_list"),
    path("<int:deal_id>/", views.deal_detail, name="deal_detail"),
    path("<int:deal_id>/stage/", views.deal_stage_record, name="deal_stage_record"),
    path(
        "<int:deal_id>/observations/", views.deal_observation_record, name="deal_observation_record"
    ),
    path("<int:deal_id>/touches/", touch_views.touch_record_view, name="touch_record"),
    path(
        "<int:deal_id>/touches/<int:touch_id>/response/",
        touch_views.touch_response_view,
        name="touch_response",
    ),
]
