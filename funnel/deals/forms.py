"""Input validation for the rep's screens; the services do the writing."""

from __future__ import annotations

from django import forms

from funnel.deals.selectors import OWNER_ALL, OWNER_ME, STATUS_ALL, DealFilters
from funnel.models import Characteristic, DealStatus, Outcome, Stage

LOST_REASONS = (
    "Price",
    "Chose a competitor",
    "No decision",
    "No budget",
    "Bad timing",
    "No response",
    "Not a fit",
)


class DealFilterForm(forms.Form):
    """The deal list's filters, from the query string. Bad values fall back to the defaults."""

    q = forms.CharField(required=False, max_length=100, label="Search")
    status = forms.ChoiceField(
        required=False,
        choices=[*DealStatus.choices, (STATUS_ALL, "Any status")],
        label="Status",
    )
    stage = forms.ChoiceField(required=False, label="Stage")
    owner = forms.ChoiceField(required=False, label="Owner")

    def __init__(self, data, *, stages: list[Stage], owners: list, default_owner: str):
        super().__init__(data)
        self.default_owner = default_owner
        self.fields["stage"].choices = [("", "Any stage")] + [(s.slug, s.name) for s in stages]
        self.fields["owner"].choices = [(OWNER_ME, "My deals"), (OWNER_ALL, "Everyone")] + [
            (str(u.pk), u.get_full_name() or u.email) for u in owners
        ]

    def filters(self) -> DealFilters:
        if not self.is_valid():
            return DealFilters(owner=self.default_owner)
        data = self.cleaned_data
        return DealFilters(
            status=data["status"] or DealStatus.OPEN,
            stage=data["stage"],
            owner=data["owner"] or self.default_owner,
            q=data["q"].strip(),
        )


class StageChangeForm(forms.Form):
    """Move the deal to a stage, or close it as won or lost (a lost reason is required)."""

    ACTION_STAGE = "stage"
    action = forms.ChoiceField(
        choices=[(ACTION_STAGE, "Move to stage"), (Outcome.WON, "Won"), (Outcome.LOST, "Lost")]
    )
    stage = forms.ModelChoiceField(
        queryset=Stage.objects.none(), to_field_name="slug", required=False, label="Stage"
    )
    lost_reason = forms.CharField(required=False, max_length=200, label="Why was it lost?")

    def __init__(self, data=None, *, stages, **kwargs):
        super().__init__(data, **kwargs)
        self.fields["stage"].queryset = stages

    def clean(self):
        data = super().clean()
        action = data.get("action")
        if action == self.ACTION_STAGE and not data.get("stage"):
            self.add_error("stage", "Choose the stage the deal moved to.")
        if action == Outcome.LOST and not (data.get("lost_reason") or "").strip():
            self.add_error("lost_reason", "Say why it was lost: the team learns from it.")
        return data


class ObservationForm(forms.Form):
    """One observation: which characteristic, its value and an optional evidence note. The
    value is checked against the characteristic's kind by the service."""

    characteristic = forms.ModelChoiceField(queryset=Characteristic.objects.none())
    value = forms.CharField(max_length=200, required=False)
    evidence = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Evidence",
    )

    def __init__(self, data=None, *, characteristics, **kwargs):
        super().__init__(data, **kwargs)
        self.fields["characteristic"].queryset = characteristics
