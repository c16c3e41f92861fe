"""Input validation for the analysis filters and the characteristic form."""

from __future__ import annotations

from django import forms

from funnel.models import CharacteristicKind, OperationalDefinition, Team
from funnel.periods import PeriodForm
from funnel.winnable.selectors import LEGACY_WINDOWS

# The window a page opens with: a year of closed deals.
WINNABLE_WINDOW = 52


def winnable_period_form(query) -> PeriodForm:
    """The as-of control's form; a link with the old `?period=3|6|12|all` still works."""
    data = query.copy()
    if "window" not in data and data.get("period") in LEGACY_WINDOWS:
        data["window"] = LEGACY_WINDOWS[data["period"]]
    return PeriodForm(data)


class WinnableFilterForm(forms.Form):
    team = forms.ChoiceField(required=False)

    def __init__(self, *args, teams: list[Team] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.teams = teams or []
        self.fields["team"].choices = [("", "All teams")] + [(t.slug, t.name) for t in self.teams]

    def _cleaned(self, name: str) -> str:
        # Each filter stands on its own: an unknown team does not reset the period.
        if not self.is_bound:
            return ""
        self.is_valid()
        return self.cleaned_data.get(name) or ""

    def chosen_team(self) -> Team | None:
        """The team chosen by an executive, or None for all teams."""
        slug = self._cleaned("team")
        return next((t for t in self.teams if t.slug == slug), None)


class CharacteristicForm(forms.Form):
    name = forms.CharField(
        max_length=120,
        error_messages={"required": "Name the characteristic, like Champion identified."},
    )
    kind = forms.ChoiceField(choices=CharacteristicKind.choices, initial=CharacteristicKind.YES_NO)
    choices = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="For a choice: one value per line.",
    )
    definition = forms.ModelChoiceField(
        queryset=OperationalDefinition.objects.none(),
        required=False,
        empty_label="Write a new definition below",
        help_text="The operational definition that says how to observe it.",
    )
    meaning = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="What it means, in terms of what the buyer observably does or says.",
    )
    criteria = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="The observable test: one criterion per line.",
    )

    def __init__(self, *args, team: Team, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["definition"].queryset = OperationalDefinition.objects.filter(
            team=team
        ).order_by("term")

    def clean_choices(self) -> list[str]:
        seen: dict[str, str] = {}
        for line in self.cleaned_data["choices"].splitlines():
            value = line.strip()
            if value and value.casefold() not in seen:
                seen[value.casefold()] = value[:200]
        return list(seen.values())

    def clean_criteria(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data["criteria"].splitlines() if line.strip()]

    def clean(self):
        data = super().clean()
        if data.get("kind") == CharacteristicKind.CHOICE and len(data.get("choices") or []) < 2:
            self.add_error("choices", "A choice needs at least two values, one per line.")
        if not data.get("definition") and not (data.get("meaning") or "").strip():
            self.add_error("meaning", "Link a definition, or write what it means.")
        return data
