"""Input validation for the touch buttons on the deal page."""

from __future__ import annotations

from django import forms

from funnel.models import Tactic


class TouchForm(forms.Form):
    tactic = forms.ModelChoiceField(
        queryset=Tactic.objects.none(),
        to_field_name="slug",
        error_messages={"invalid_choice": "That tactic is not one of the team's; reload the page."},
    )

    def __init__(self, data=None, *, team, **kwargs):
        super().__init__(data, **kwargs)
        self.fields["tactic"].queryset = Tactic.objects.filter(team=team, is_active=True)


class TouchResponseForm(forms.Form):
    RESPONSES = {"yes": True, "no": False, "clear": None}
    responded = forms.ChoiceField(choices=[(k, k) for k in RESPONSES])

    def value(self) -> bool | None:
        return self.RESPONSES[self.cleaned_data["responded"]]


class TacticsPeriodForm(forms.Form):
    """The tactics page's period: months back from the team's latest touch. Bad values fall
    back to the default."""

    PERIODS = {"3": 3, "6": 6, "12": 12, "all": None}
    DEFAULT = "12"
    period = forms.ChoiceField(
        required=False,
        label="Period",
        choices=[
            ("3", "Last 3 months"),
            ("6", "Last 6 months"),
            ("12", "Last 12 months"),
            ("all", "All touches"),
        ],
    )

    def months(self) -> int | None:
        if self.is_bound and self.is_valid() and self.cleaned_data["period"]:
            return self.PERIODS[self.cleaned_data["period"]]
        return self.PERIODS[self.DEFAULT]

    @property
    def selected(self) -> str:
        if self.is_bound and self.is_valid() and self.cleaned_data["period"]:
            return self.cleaned_data["period"]
        return self.DEFAULT
