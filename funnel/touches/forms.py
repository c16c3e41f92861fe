"""Input validation: the touch buttons on the deal page, the tactics page's filters and a
manager's tactic settings."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone

from funnel.models import Channel, Station, Tactic
from funnel.touches.selectors import NO_STAGE


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


class TacticsFilterForm(forms.Form):
    """The tactics page's filters: the period (months back from the team's latest touch), the
    station touches fell in, and, for someone on several teams, the team. Bad values fall back
    to the defaults (all stations, the page's own team)."""

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
    station = forms.ChoiceField(required=False, label="Station")
    team = forms.ChoiceField(required=False, label="Team")

    def __init__(self, data=None, *, stations: list[str], teams: list[tuple[str, str]], **kw):
        super().__init__(data, **kw)
        labels = dict(Station.choices)
        self.fields["station"].choices = [("", "All stations")] + [
            (s or NO_STAGE, labels.get(s, "No stage yet")) for s in stations
        ]
        self.fields["team"].choices = teams

    def _value(self, name: str, default: str) -> str:
        """The field's value when valid (a bad one leaves the others standing), else default."""
        if not self.is_bound:
            return default
        self.is_valid()
        return self.cleaned_data.get(name) or default

    @property
    def selected(self) -> str:
        return self._value("period", self.DEFAULT)

    def since(self, horizon: dt.datetime | None) -> dt.date | None:
        """The Monday the period starts on: that of the week its months back from the latest
        touch fall in (the counts are kept by week, in the app's time zone)."""
        months = self.PERIODS[self.selected]
        if months is None or horizon is None:
            return None
        start = timezone.localtime(horizon).date() - dt.timedelta(days=round(months * 365.25 / 12))
        return start - dt.timedelta(days=start.weekday())

    @property
    def station_selected(self) -> str:
        return self._value("station", "")

    def station_filter(self) -> str | None:
        """The station to read ('' = no stage yet), or None for all."""
        value = self.station_selected
        if not value:
            return None
        return "" if value == NO_STAGE else value

    def team_selected(self, current: str) -> str:
        return self._value("team", current)


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
