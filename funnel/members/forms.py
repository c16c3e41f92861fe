"""Input for team set-up: a new team, an invitation, a role, an invited person's password."""

from django import forms
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.utils.text import slugify

from funnel.models import Role, Team

# Paths under /teams/ that are pages, not teams.
RESERVED_SLUGS = frozenset({"new"})


class LoginForm(AuthenticationForm):
    """The login form with messages that say what to type."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "That e-mail and password do not match an account. Check both and try "
        "again; your admin can send a new invitation if you have none.",
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].label = "Email"
        self.fields["username"].error_messages["required"] = "Enter your e-mail address."
        self.fields["password"].error_messages["required"] = "Enter your password."


EMAIL_INVALID = "Enter a valid e-mail address, like name@company.com."
ROLE_INVALID = "Choose rep, manager or executive."


class TeamNewForm(forms.Form):
    name = forms.CharField(
        max_length=120, label="Team name", error_messages={"required": "Give the team a name."}
    )
    slug = forms.CharField(
        max_length=50,
        required=False,
        label="Short name in links",
        help_text="Lower-case letters, digits and hyphens, e.g. north-region. Left empty, it is "
        "made from the name.",
    )
    manager_email = forms.EmailField(
        required=False,
        label="Manager's e-mail",
        error_messages={"invalid": EMAIL_INVALID},
        help_text="Left empty, you manage the team. Otherwise this person is invited as manager.",
    )

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise ValidationError("Give the team a name.")
        return name

    def clean(self) -> dict:
        data = super().clean()
        if "name" not in data:
            return data
        slug = (data.get("slug") or "").strip().lower() or slugify(data["name"])[:50].strip("-")
        try:
            validate_slug(slug)
        except ValidationError:
            self.add_error("slug", f"“{slug}” may hold only letters, digits, hyphens and _.")
            return data
        if slug in RESERVED_SLUGS:
            self.add_error("slug", f"“{slug}” is reserved; choose another.")
        elif Team.objects.filter(slug=slug).exists():
            self.add_error("slug", f"A team with the short name “{slug}” already exists.")
        data["slug"] = slug
        return data


class InvitationForm(forms.Form):
    email = forms.EmailField(
        label="E-mail",
        error_messages={
            "required": "Enter the e-mail address to invite.",
            "invalid": EMAIL_INVALID,
        },
    )
    role = forms.ChoiceField(
        choices=Role.choices,
        initial=Role.REP,
        error_messages={"required": ROLE_INVALID, "invalid_choice": ROLE_INVALID},
    )


class RoleForm(forms.Form):
    role = forms.ChoiceField(
        choices=Role.choices,
        error_messages={"required": ROLE_INVALID, "invalid_choice": ROLE_INVALID},
    )


class InvitationAcceptForm(forms.Form):
    name = forms.CharField(max_length=150, label="Your name")
    password1 = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label="Password again",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args, email: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.email = email

    def clean(self) -> dict:
        data = super().clean()
        first, second = data.get("password1"), data.get("password2")
        if first and second and first != second:
            self.add_error("password2", "The two passwords differ.")
        elif first:
            first_name, _, last_name = (data.get("name") or "").partition(" ")
            probe = get_user_model()(
                username=self.email, email=self.email, first_name=first_name, last_name=last_name
            )
            try:
                password_validation.validate_password(first, probe)
            except ValidationError as error:
                self.add_error("password1", error)
        return data
