from django.contrib import admin

from kaizen.models import Agreement, DefinitionVersion, OperationalDefinition


class DefinitionVersionInline(admin.StackedInline):
    model = DefinitionVersion
    extra = 0


@admin.register(OperationalDefinition)
class OperationalDefinitionAdmin(admin.ModelAdmin):
    list_display = ["term", "team", "created_at"]
    list_filter = ["team"]
    inlines = [DefinitionVersionInline]


@admin.register(Agreement)
class AgreementAdmin(admin.ModelAdmin):
    list_display = ["user", "version", "agreed_at"]
