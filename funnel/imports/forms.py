"""Input validation for the import screens: the upload and the column mapping."""

from __future__ import annotations

from collections.abc import Sequence

from django import forms

from funnel.forms import CalendarDateField
from funnel.imports.mapping import CharacteristicRef, StageRef, target_choices
from funnel.imports.service import ImportRefused, import_size_check
from funnel.models import ReopenChoice

DATE_FORMAT_CHOICES = [
    ("iso", "ISO: 2024-03-31"),
    ("dmy", "Day first: 31/03/2024 or 31.03.2024"),
    ("mdy", "Month first: 03/31/2024"),
]
SHAPE_CHOICES = [
    ("deals", "One row per deal (CRM export)"),
    ("events", "One row per stage event"),
]
REPEATED_CHOICES = [
    ("error", "Report it as an error"),
    ("first", "Keep the first row, skip the others"),
]


class UploadForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="UTF-8 or Windows text; , or ; separated.",
        error_messages={
            "required": "Choose the CSV file to import.",
            "empty": "That file is empty: export the deals again and upload the new file.",
        },
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        try:
            import_size_check(upload.size)  # before a single row is read
        except ImportRefused as error:
            raise forms.ValidationError(str(error)) from error
        return upload


class MappingForm(forms.Form):
    """One dropdown per column, the options, and our stage for each of the CRM's stage labels."""

    shape = forms.ChoiceField(choices=SHAPE_CHOICES, label="Each row is")
    date_format = forms.ChoiceField(choices=DATE_FORMAT_CHOICES, label="Dates are written")
    default_date = CalendarDateField(
        required=False,
        label="Date for rows without any date",
        help_text="Optional. Open deals in some exports carry no date at all.",
    )
    create_missing_owners = forms.BooleanField(
        required=False, label="Add owners who are not in the team yet, as reps"
    )
    on_repeated_deal = forms.ChoiceField(
        choices=REPEATED_CHOICES, label="A deal id that appears twice"
    )
    decimal_comma = forms.BooleanField(
        required=False, label="Amounts use a decimal comma (1.234,50)"
    )

    def __init__(
        self,
        data=None,
        *,
        header: Sequence[str],
        mapping: dict,
        stages: Sequence[StageRef],
        characteristics: Sequence[CharacteristicRef],
    ):
        initial = {k: mapping.get(k) for k in self.base_fields}
        super().__init__(data, initial=initial)
        self.header = list(header)
        # Kept as they are: the preset recognised and owner names from an owner file.
        self.kept = {k: mapping[k] for k in ("preset", "owner_names") if mapping.get(k)}
        self.stage_labels = list(mapping.get("stage_values", {}))
        targets = target_choices(stages=stages, characteristics=characteristics)
        for i, name in enumerate(self.header):
            self.fields[f"col_{i}"] = forms.ChoiceField(
                choices=targets,
                label=name,
                initial=mapping["columns"].get(name, "ignore"),
                error_messages={"invalid_choice": "Choose what this column means from the list."},
            )
        stage_choices = [("", "Choose a stage")]
        stage_choices += [(s.slug, s.name) for s in stages]
        stage_choices += [("won", "Won"), ("lost", "Lost")]
        for j, label in enumerate(self.stage_labels):
            self.fields[f"sv_{j}"] = forms.ChoiceField(
                choices=stage_choices,
                required=False,
                label=label,
                initial=mapping["stage_values"].get(label, ""),
            )

    def column_fields(self):
        return [self[f"col_{i}"] for i in range(len(self.header))]

    def stage_value_fields(self):
        return [self[f"sv_{j}"] for j in range(len(self.stage_labels))]

    def mapping(self) -> dict:
        data = self.cleaned_data
        return {
            "shape": data["shape"],
            "date_format": data["date_format"],
            "columns": {name: data[f"col_{i}"] for i, name in enumerate(self.header)},
            "stage_values": {
                label: data.get(f"sv_{j}", "") for j, label in enumerate(self.stage_labels)
            },
            "create_missing_owners": data["create_missing_owners"],
            "default_date": data["default_date"].isoformat() if data["default_date"] else "",
            "on_repeated_deal": data["on_repeated_deal"],
            "decimal_comma": data["decimal_comma"],
            **self.kept,
        }


class OwnerFileForm(forms.Form):
    owners = forms.FileField(
        label="Owner names file",
        help_text="A user export from your CRM with an id column and a name column, e.g. "
        "Salesforce's “Id”, “Name” or “User ID”, “Full Name”.",
    )


class StartForm(forms.Form):
    """The confirm step: for a file that reopens closed deals, what to do with them. No choice
    is made for the manager: the import cannot start until one is picked."""

    on_reopen = forms.ChoiceField(
        choices=[
            (ReopenChoice.REOPEN, ReopenChoice.REOPEN.label),
            (ReopenChoice.KEEP_CLOSED, ReopenChoice.KEEP_CLOSED.label),
        ],
        widget=forms.RadioSelect,
        label="Deals that reopen after being closed",
        error_messages={"required": "Choose whether to reopen these deals or keep them closed."},
    )

    skip_bad_rows = forms.BooleanField(
        required=False,
        label="Import the valid rows and skip the rows listed with a problem",
        help_text="The skipped rows can be downloaded afterwards, with the reason for each.",
    )

    def __init__(self, data=None, *, reopenings: bool, bad_rows: bool = False):
        super().__init__(data)
        if not reopenings:
            self.fields["on_reopen"].required = False
        if bad_rows:  # the file has bad rows: importing means skipping them, said explicitly
            self.fields["skip_bad_rows"].required = True
            self.fields["skip_bad_rows"].error_messages["required"] = (
                "Tick the box to import the valid rows without the rows listed above."
            )
        else:
            del self.fields["skip_bad_rows"]
