from django.apps import AppConfig


class KaizenConfig(AppConfig):
    name = "kaizen"
    verbose_name = "Kaizen (definitions and PDCA)"
