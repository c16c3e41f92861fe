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
