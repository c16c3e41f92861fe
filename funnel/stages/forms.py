"""Input for the stage editor: validation only (the services check again and write)."""

from decimal import Decimal

from django import forms

from funnel.models import Stage, Station

DAYS_RANGE = "Enter a whole number of days between 1 and 365."


class StageForm(forms.Form):
    """A stage's name, station and targets; conversion entered in percent."""

    name = forms.CharField(max_length=80, error_messages={"required": "Give the stage a name."})
    station = forms.ChoiceField(
        choices=Station.choices,
        error_messages={
            "required": "Choose the station the stage belongs to.",
            "invalid_choice": "Choose one of the five stations.",
        },
    )
    target_conversion_pct = forms.DecimalField(
        label="Target conversion (%)",
        required=False,
        min_value=Decimal("0.1"),
        max_value=Decimal("100"),
        decimal_places=1,
        error_messages={
            "min_value": "A target conversion is above 0 %%.",
            "max_value": "A target conversion is at most 100 %%.",
        },
    )
    target_days = forms.IntegerField(
        label="Target days",
        required=False,
        min_value=1,
        max_value=365,
        error_messages={
            "invalid": DAYS_RANGE,
            "min_value": DAYS_RANGE,
            "max_value": DAYS_RANGE,
        },
    )

    def __init__(self, data=None, *, stage: Stage | None = None, prefix: str | None = None):
        initial = {}
        if stage is not None:
            initial = {
                "name": stage.name,
                "station": stage.station,
                "target_days": stage.target_days,
                "target_conversion_pct": None
                if stage.target_conversion is None
                else (stage.target_conversion * 100).normalize(),
            }
        super().__init__(data, initial=initial, prefix=prefix)

    def clean(self):
        cleaned = super().clean()
        pct = cleaned.get("target_conversion_pct")
        cleaned["target_conversion"] = None if pct is None else pct / 100
        return cleaned


class StageAddForm(StageForm):
    slug = forms.SlugField(
        max_length=50,
        label="Short name",
        help_text="Kept for good: events and the API name the stage by it.",
        error_messages={
            "required": "Give the stage a short name, like demo-booked.",
            "invalid": "Use only lower-case letters, digits and hyphens, like demo-booked.",
        },
    )

    field_order = ["name", "slug", "station", "target_conversion_pct", "target_days"]


class StageMergeForm(forms.Form):
    into = forms.ModelChoiceField(
        queryset=Stage.objects.none(),
        to_field_name="slug",
        label="Merge into",
        empty_label="Choose a stage",
        error_messages={
            "required": "Choose the stage to merge into.",
            "invalid_choice": "Choose one of the team's stages that still take events.",
        },
    )

    def __init__(self, data=None, *, stage: Stage):
        super().__init__(data)
        self.fields["into"].queryset = (
            Stage.objects.filter(team_id=stage.team_id)
            .taking_events()
            .exclude(id=stage.id)
            .order_by("position")
        )
