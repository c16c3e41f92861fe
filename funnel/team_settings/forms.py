"""Input for a team's settings; errors read as what to type instead."""

import re
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError

from funnel.models import Team

CURRENCY = re.compile(r"^[A-Z]{3}$")


class TeamSettingsForm(forms.Form):
    name = forms.CharField(
        max_length=120,
        label="Team name",
        error_messages={"required": "Give the team a name."},
    )
    currency = forms.CharField(
        max_length=3,
        label="Currency",
        help_text="The ISO 4217 code of the currency deal amounts are in: USD, EUR, GBP, CHF …",
        error_messages={
            "required": "Give the currency as a three-letter code, like USD.",
            "max_length": "Use the three-letter ISO 4217 code, like USD or EUR.",
        },
        widget=forms.TextInput(attrs={"autocapitalize": "characters", "size": 4}),
    )
    winnable_min_points = forms.DecimalField(
        label="Smallest difference in win rate that matters (percentage points)",
        min_value=Decimal("1"),
        max_value=Decimal("90"),
        decimal_places=0,
        help_text="The winnable analysis calls a characteristic more or less winnable only when "
        "its win rate differs by at least this many points; 5 means 40 % against 35 %.",
        error_messages={
            "required": "Give a whole number of points from 1 to 90.",
            "invalid": "Give a whole number of points from 1 to 90.",
            "min_value": "Give at least 1 point.",
            "max_value": "Give at most 90 points.",
            "max_decimal_places": "Give a whole number of points, like 5.",
        },
    )

    @classmethod
    def for_team(cls, team: Team, data=None) -> "TeamSettingsForm":
        initial = {
            "name": team.name,
            "currency": team.currency,
            "winnable_min_points": (team.winnable_min_difference * 100).quantize(Decimal("1")),
        }
        return cls(data, initial=initial)

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise ValidationError("Give the team a name.")
        return name

    def clean_currency(self) -> str:
        code = self.cleaned_data["currency"].strip().upper()
        if not CURRENCY.match(code):
            raise ValidationError("Use the three-letter ISO 4217 code, like USD or EUR.")
        return code

    @property
    def winnable_min_difference(self) -> Decimal:
        """The points as the share the team stores: 5 -> 0.05."""
        return self.cleaned_data["winnable_min_points"] / 100
