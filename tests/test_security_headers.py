"""Security headers (issue 17, item 6): a Content-Security-Policy with no inline script, and a
Permissions-Policy, on full pages, htmx fragments and API answers; and no template carries an
inline script the policy would block."""

import re
from pathlib import Path

from django.conf import settings

from funnel.models import ApiToken

TEMPLATES = Path(settings.BASE_DIR) / "templates"


def policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {
        part.split()[0]: part.split()[1:] for part in (p.strip() for p in header.split(";")) if part
    }


def assert_headers(response):
    csp = policy(response)
    assert csp["script-src"] == ["'self'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert "camera=()" in response["Permissions-Policy"]


def test_full_pages_fragments_and_the_api_carry_the_policy(client, manager, team):
    token, prefix, token_hash = ApiToken.generate()
    ApiToken.objects.create(team=team, name="CRM", prefix=prefix, token_hash=token_hash)
    assert_headers(client.get("/login/"))
    client.force_login(manager)
    assert_headers(client.get(f"/teams/{team.slug}/dashboard/"))
    assert_headers(client.get(f"/teams/{team.slug}/deals/", headers={"HX-Request": "true"}))
    assert_headers(client.get("/api/v1/stages", headers={"Authorization": f"Bearer {token}"}))


def test_no_template_has_an_inline_script():
    inline = []
    for path in TEMPLATES.rglob("*.html"):
        for tag in re.findall(r"<script\b[^>]*>", path.read_text()):
            if "src=" not in tag and 'type="application/json"' not in tag:
                inline.append(f"{path.relative_to(TEMPLATES)}: {tag}")
    assert inline == []


def test_no_template_uses_inline_event_handlers():
    handlers = re.compile(r"\son[a-z]+\s*=|hx-on", re.I)
    found = [
        str(path.relative_to(TEMPLATES))
        for path in TEMPLATES.rglob("*.html")
        if handlers.search(path.read_text())
    ]
    assert found == []


def test_template_comments_are_closed_on_their_line():
    """{# ... #} is a one-line comment in Django: one that spans lines prints on the page."""
    open_ended = [
        f"{path.relative_to(TEMPLATES)}:{number}"
        for path in TEMPLATES.rglob("*.html")
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if line.count("{#") > line.count("#}")
    ]
    assert open_ended == []
