from django.urls import path

from funnel.glossary import views

urlpatterns = [path("glossary/", views.glossary, name="glossary")]
