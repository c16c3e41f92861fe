"""Input validation for a new version of an operational definition."""

from django import forms

from funnel.forms import CalendarDateField

TEXTAREA = {"rows": 3}


class DefinitionVersionForm(forms.Form):
    label_suffix = ""
    meaning = forms.CharField(
        widget=forms.Textarea(attrs=TEXTAREA),
        max_length=2000,
        error_messages={"required": "Say what the term means, as something people can observe."},
    )
    criteria = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": "Write at least one observable criterion."},
        help_text="One observable criterion per line: something two people would judge alike.",
    )
    how_measured = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), required=False, label="How it is measured"
    )
    examples = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    non_examples = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), required=False, label="Non-examples"
    )
    effective_from = CalendarDateField(
        required=False,
        help_text="Numbers from this date on are measured under the new version (default: today).",
    )

    def clean_criteria(self) -> list[str]:
        lines = [line.strip(" -•\t") for line in self.cleaned_data["criteria"].splitlines()]
        criteria = [line for line in lines if line]
        if not criteria:
            raise forms.ValidationError("Write at least one observable criterion.")
        return criteria

    @staticmethod
    def initial_from(version) -> dict:
        if version is None:
            return {}
        return {
            "meaning": version.meaning,
            "criteria": "\n".join(version.criteria),
            "how_measured": version.how_measured,
            "examples": version.examples,
            "non_examples": version.non_examples,
        }


class StaleRuleForm(forms.Form):
    """The team's stale-deal rule: off, or on after N days without an event."""

    OFF, ON = "off", "on"
    label_suffix = ""
    rule = forms.ChoiceField(
        choices=[(OFF, "Off"), (ON, "On")], widget=forms.RadioSelect, initial=OFF
    )
    days = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=3650,
        label="Days without an event",
        error_messages={
            "invalid": "Give a whole number of days, e.g. 60.",
            "min_value": "Give at least 1 day.",
            "max_value": "Give at most 3650 days (ten years).",
        },
    )
    effective_from = CalendarDateField(
        required=False,
        help_text="When the team adopts the rule (default: today).",
    )
    note = forms.CharField(max_length=300, required=False, label="Why (optional)")
    proposed = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def clean(self) -> dict:
        data = super().clean()
        if data.get("rule") == self.ON and data.get("days") is None and "days" not in self.errors:
            self.add_error("days", "Give the number of days without an event, e.g. 60.")
        if data.get("rule") == self.OFF:
            data["days"] = None
            self.errors.pop("days", None)
        return data
