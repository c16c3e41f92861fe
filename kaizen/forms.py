"""Input validation for cycles (the phase rules live in the services)."""

from django import forms
from django.db.models import Q

from funnel.forms import CalendarDateField
from funnel.models import Stage, Tactic, Team
from kaizen.models import ActDecision, CycleMetric, Direction, Phase

TEXTAREA = {"rows": 3}


class CyclePlanForm(forms.Form):
    """The plan; a draft may be incomplete (committing checks it is complete)."""

    label_suffix = ""

    title = forms.CharField(max_length=160, error_messages={"required": "Give the cycle a title."})
    metric = forms.ChoiceField(choices=CycleMetric.choices)
    stage = forms.ModelChoiceField(queryset=Stage.objects.none(), required=False)
    tactic = forms.ModelChoiceField(
        queryset=Tactic.objects.none(),
        required=False,
        help_text="For the answer rate: the tactic whose touches the change is about.",
        error_messages={"invalid_choice": "Choose one of this team's tactics in use."},
    )
    problem = forms.CharField(
        widget=forms.Textarea(attrs=TEXTAREA), required=False, label="Problem (current condition)"
    )
    target_condition = forms.CharField(widget=forms.Textarea(attrs=TEXTAREA), required=False)
    hypothesis = forms.CharField(
        widget=forms.Textarea(attrs=TEXTAREA),
        required=False,
        help_text="If we do X, then the metric moves because Y.",
    )
    predicted_direction = forms.ChoiceField(
        choices=Direction.choices, widget=forms.RadioSelect, required=False
    )
    predicted_size = forms.FloatField(
        required=False,
        min_value=0,
        help_text="Percentage points (conversion, answer rate), or new deals a week for arrivals.",
    )
    countermeasure = forms.CharField(widget=forms.Textarea(attrs=TEXTAREA), required=False)
    do_start = CalendarDateField(required=False)
    do_end = CalendarDateField(required=False)
    comparison_team = forms.ModelChoiceField(
        queryset=Team.objects.none(),
        required=False,
        help_text="Optional: a team that does not make the change (difference-in-differences).",
    )

    def __init__(self, *args, team: Team, comparison_teams, tactic_id: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["stage"].queryset = Stage.objects.filter(team=team).order_by("position")
        # The tactics in use, and the plan's own tactic even if it was retired since.
        in_use = Q(is_active=True) | Q(id=tactic_id) if tactic_id else Q(is_active=True)
        self.fields["tactic"].queryset = Tactic.objects.filter(in_use, team=team).order_by(
            "position", "name"
        )
        self.fields["comparison_team"].queryset = comparison_teams

    def clean(self):
        data = super().clean()
        start, end = data.get("do_start"), data.get("do_end")
        if start and end and end < start:
            self.add_error("do_end", "The Do window ends after it starts.")
        if data.get("metric") == CycleMetric.CONVERSION and not data.get("stage"):
            self.add_error("stage", "Choose the stage whose conversion the cycle means to move.")
        if data.get("metric") == CycleMetric.RESPONSE_RATE:
            self._clean_response_rate(data)
        elif data.get("tactic"):
            self.add_error(
                "tactic", "A tactic goes with the metric “answer rate of a tactic” only."
            )
        return data

    def _clean_response_rate(self, data: dict) -> None:
        if not data.get("tactic") and "tactic" not in self.errors:
            self.add_error("tactic", "Choose the tactic whose answer rate the cycle means to move.")
        if data.get("comparison_team"):
            self.add_error(
                "comparison_team",
                "An answer rate is the team's own tactic: leave the comparison team empty.",
            )
        # The metric is the tactic's, not a stage's: a stage chosen earlier does not apply.
        data["stage"] = None


class CycleCloseForm(forms.Form):
    label_suffix = ""
    decision = forms.ChoiceField(
        choices=ActDecision.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": "Choose adopt, adapt or abandon.",
            "invalid_choice": "Choose adopt, adapt or abandon.",
        },
    )
    learnings = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        label="What we learned",
        error_messages={"required": "Write down what was learned before closing the cycle."},
    )
    standard_work = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        help_text="For adopt: the new standard, as the team will follow it.",
    )


class CycleNoteForm(forms.Form):
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=4000,
        error_messages={"required": "A note needs some text."},
    )


class BoardFilterForm(forms.Form):
    owner = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    stage = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    phase = forms.ChoiceField(choices=[("", "All phases"), *Phase.choices], required=False)

    def __init__(self, *args, owners, stages, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = [("", "Everyone"), *owners]
        self.fields["stage"].choices = [("", "All stages"), *stages]
