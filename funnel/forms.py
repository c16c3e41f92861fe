from decimal import Decimal

from django import forms

from funnel.models import Stage


class StageTargetsForm(forms.ModelForm):
    """A manager's targets for one stage. Conversion is entered in percent."""

    target_conversion_pct = forms.DecimalField(
        label="Target conversion (%)",
        required=False,
        min_value=Decimal("0.1"),
        max_value=Decimal("100"),
        decimal_places=1,
    )

    class Meta:
        model = Stage
        fields = ["target_days"]
        labels = {"target_days": "Target days in stage"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.target_conversion is not None:
            self.initial["target_conversion_pct"] = self.instance.target_conversion * 100
        self.fields["target_days"].widget.attrs.update(min=1, max=365)

    def clean_target_days(self):
        days = self.cleaned_data["target_days"]
        if days is not None and not 1 <= days <= 365:
            raise forms.ValidationError("Enter a number of days between 1 and 365.")
        return days

    def save(self, commit: bool = True) -> Stage:
        pct = self.cleaned_data.get("target_conversion_pct")
        self.instance.target_conversion = (
            None if pct is None else (pct / 100).quantize(Decimal("0.001"))
        )
        return super().save(commit=commit)
