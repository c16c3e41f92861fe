"""The analysis period: the date an analysis is "as of" and the window it looks back over.

Every page and API that shows funnel figures, the verdict, charts or winnability takes one
(`?as_of=2012-02-29&window=26`). The default is the team's data horizon: today for a team
receiving events, the start of the week its data stopped in for a team whose data stopped (the
recompute stores it as the verdict's ``history_up_to``, its last judged day).

A date in the future is clamped to today, with a note that says so. Weeks are whole: the
period judged ends the day before the week of ``as_of`` begins, as the verdict's does.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from django import forms

from funnel.bounds import TOO_EARLY, too_early
from funnel.metrics.accounting import week_start

WINDOWS = (13, 26, 52)
DEFAULT_WINDOW = 13
ALL = "all"
WINDOW_CHOICES = [("13", "13 weeks"), ("26", "26 weeks"), ("52", "52 weeks"), (ALL, "All data")]


def day_label(day: dt.date) -> str:
    return f"{day.day} {day:%b %Y}"


def horizon_from_figures(figures: dict | None) -> dt.date | None:
    """The data horizon a recompute stored (the week start after ``history_up_to``)."""
    up_to = (figures or {}).get("history_up_to")
    return dt.date.fromisoformat(up_to) + dt.timedelta(days=1) if up_to else None


@dataclass(frozen=True)
class Period:
    as_of: dt.date
    window: int | None  # weeks; None for all the data
    default: bool  # as_of was not given: the team's data horizon
    horizon: dt.date | None = None  # where a stopped team's data ends (a week start)
    notes: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()  # invalid input, replaced by its default
    default_window: int | None = DEFAULT_WINDOW  # the page's own default

    @property
    def is_default(self) -> bool:
        return self.default and self.window == self.default_window

    @property
    def end(self) -> dt.date:
        """Exclusive: the start of the week of ``as_of``."""
        return week_start(self.as_of)

    @property
    def last_day(self) -> dt.date:
        return self.end - dt.timedelta(days=1)

    @property
    def verdict_weeks(self) -> int:
        """The verdict's recent window: "all" keeps the default 13 weeks."""
        return self.window or DEFAULT_WINDOW

    @property
    def recent_from(self) -> dt.date:
        return self.end - dt.timedelta(weeks=self.verdict_weeks)

    @property
    def window_param(self) -> str:
        return str(self.window) if self.window else ALL

    @property
    def label(self) -> str:
        """ "13 weeks to 26 Feb 2012", or "All data to 26 Feb 2012"."""
        span = f"{self.window} weeks" if self.window else "All data"
        return f"{span} to {day_label(self.last_day)}"

    @property
    def history_up_to(self) -> dt.date | None:
        """Set when the default applies to a team whose data stopped."""
        return self.last_day if self.default and self.horizon else None

    def query(self) -> str:
        """The URL query that reproduces this period ("" for the default)."""
        if self.is_default:
            return ""
        parts = [] if self.default else [f"as_of={self.as_of.isoformat()}"]
        return "?" + "&".join([*parts, f"window={self.window_param}"])


def period_resolve(
    *, as_of: dt.date | None, window: int | None, today: dt.date, horizon: dt.date | None
) -> Period:
    """The period for a chosen ``as_of`` (None: the data horizon, else today) and window."""
    if as_of is None:
        return Period(as_of=horizon or today, window=window, default=True, horizon=horizon)
    notes = []
    if as_of > today:
        notes.append(f"{day_label(as_of)} is in the future; showing today, {day_label(today)}.")
        as_of = today
    if horizon is not None and week_start(as_of) > horizon:
        notes.append(
            f"The team's data stops on {day_label(horizon - dt.timedelta(days=1))}; "
            "the weeks after it hold no deals."
        )
    return Period(as_of=as_of, window=window, default=False, horizon=horizon, notes=tuple(notes))


def window_parse(value: str | None) -> int | None:
    """13, 26, 52 or None for "all"; ValueError for anything else."""
    if value == ALL:
        return None
    if value in {str(w) for w in WINDOWS}:
        return int(value)
    raise ValueError(f"window must be 13, 26, 52 or all, not {value!r}.")


class PeriodForm(forms.Form):
    """The compact as-of control of every analysis page (a GET form: URLs can be shared)."""

    as_of = forms.DateField(
        required=False,
        input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": "as_of must be a date written YYYY-MM-DD, e.g. 2012-02-29."},
    )
    window = forms.ChoiceField(
        choices=WINDOW_CHOICES,
        required=False,
        error_messages={"invalid_choice": "window must be 13, 26, 52 or all."},
    )

    def clean_as_of(self) -> dt.date | None:
        value = self.cleaned_data.get("as_of")
        if value is not None and too_early(value):
            raise forms.ValidationError(f"as_of {value.isoformat()}: {TOO_EARLY}")
        return value

    def period(
        self,
        *,
        today: dt.date,
        horizon: dt.date | None,
        default_window: int | None = DEFAULT_WINDOW,
    ) -> Period:
        """The chosen period; a field that is invalid falls back to its default and the
        period carries its error, so the page says what it did instead."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        chosen = data.get("window")
        window = window_parse(chosen) if chosen else default_window
        period = period_resolve(
            as_of=data.get("as_of"), window=window, today=today, horizon=horizon
        )
        errors = tuple(str(e) for field in self.errors.values() for e in field)
        return replace(period, errors=errors, default_window=default_window)
