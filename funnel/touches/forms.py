"""Input validation for the touch buttons on the deal page."""

from __future__ import annotations

from django import forms

from funnel.models import Channel, Tactic


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


class TacticForm(forms.Form):
    """A manager's settings of one tactic. A changed window becomes a new rule version."""

    name = forms.CharField(max_length=120)
    channel = forms.ChoiceField(choices=Channel.choices)
    cost_per_touch = forms.DecimalField(
        required=False,
        min_value=0,
        max_digits=10,
        decimal_places=2,
        label="Cost of one touch",
        help_text="In the team's currency; leave empty if not known. Gives the cost per answer.",
    )
    window_days = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=365,
        label="Also count a stage move within (days)",
        help_text="When nobody recorded whether the prospect answered, a deal that enters a "
        "stage or is won within this many days after the touch counts as an answer. Empty: "
        "only recorded answers count.",
    )
    is_active = forms.BooleanField(
        required=False, label="In use", help_text="Shown as a button on the deal page."
    )
