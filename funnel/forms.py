from decimal import Decimal

from django import forms

from funnel.bounds import EARLIEST_DATE, LATEST_PLANNED
from funnel.models import Stage


class CalendarDateField(forms.DateField):
    """A date typed into a form, refused outside 1 Jan 1970 to 31 Dec 2100 with a plain message
    (a date near the end of the calendar would overflow the week arithmetic downstream)."""

    widget = forms.DateInput(attrs={"type": "date", "min": "1970-01-01", "max": "2100-12-31"})

    def __init__(self, **kwargs):
        kwargs.setdefault("error_messages", {})
        kwargs["error_messages"].setdefault("invalid", "Enter a valid date, like 2026-03-01.")
        super().__init__(**kwargs)

    def validate(self, value) -> None:
        super().validate(value)
        if value is not None and not EARLIEST_DATE <= value <= LATEST_PLANNED:
            raise forms.ValidationError(
                "Give a date between 1 Jan 1970 and 31 Dec 2100.", code="out_of_range"
            )


class StageTargetsForm(forms.Form):
    """A manager's targets for one stage. Conversion is entered in percent; cleaned_data holds
    it as a share (target_conversion) for funnel.stages.services.stage_targets_set."""

    target_days = forms.IntegerField(
        label="Target days in stage",
        required=False,
        help_text="Target days a deal stays in this stage.",
    )
    target_conversion_pct = forms.DecimalField(
        label="Target conversion (%)",
        required=False,
        min_value=Decimal("0.1"),
        max_value=Decimal("100"),
        decimal_places=1,
        error_messages={
            "invalid": "Enter a percentage, like 35 or 42.5.",
            "min_value": "A target conversion is above 0 %%.",
            "max_value": "A target conversion is at most 100 %%.",
            "max_decimal_places": "Give at most one decimal, like 42.5.",
        },
    )

    def __init__(self, data=None, *, stage: Stage):
        initial = {"target_days": stage.target_days}
        if stage.target_conversion is not None:
            initial["target_conversion_pct"] = stage.target_conversion * 100
        super().__init__(data, initial=initial)
        self.fields["target_days"].widget.attrs.update(min=1, max=365)

    def clean_target_days(self):
        days = self.cleaned_data["target_days"]
        if days is not None and not 1 <= days <= 365:
            raise forms.ValidationError("Enter a number of days between 1 and 365.")
        return days

    def clean(self):
        cleaned = super().clean()
        pct = cleaned.get("target_conversion_pct")
        cleaned["target_conversion"] = (
            None if pct is None else (pct / 100).quantize(Decimal("0.001"))
        )
        return cleaned
