"""The glossary page, the {% term %} tag, and every term the templates link to."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.template import Context, Template, TemplateSyntaxError
from django.urls import reverse

from funnel.glossary.terms import TERMS, TERMS_BY_SLUG

# The terms issue #16 asks the glossary to explain.
REQUIRED = [
    "bottleneck", "conversion", "demonstrated-capability", "target", "natural-process-limits",
    "xmr-chart", "signal", "routine-variation", "do-window", "baseline", "interval",
    "wilson-interval", "newcombe-interval", "fishers-exact-test", "benjamini-hochberg",
    "minimum-practical-difference", "stale-deal", "aged-deal", "wip", "lead-time",
    "days-in-stage", "p85", "station", "operational-definition", "agreement", "winnable",
]  # fmt: skip
TERM_TAG = re.compile(r"""\{%\s*term\s+["']([^"']+)["']""")


def test_every_required_term_has_an_entry():
    assert len(TERMS_BY_SLUG) == len(TERMS), "slugs are unique"
    assert [s for s in REQUIRED if s not in TERMS_BY_SLUG] == []
    for t in TERMS:
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", t.slug), t.slug
        assert t.name and t.short and t.body


def test_every_term_the_templates_use_is_in_the_glossary():
    used = {
        slug
        for path in Path(settings.BASE_DIR, "templates").rglob("*.html")
        for slug in TERM_TAG.findall(path.read_text())
    }
    assert {"winnable", "minimum-practical-difference", "fishers-exact-test"} <= used
    assert sorted(used - set(TERMS_BY_SLUG)) == []


@pytest.mark.parametrize("user", ["rep", "manager", "executive"])
def test_any_signed_in_user_reads_the_glossary(request, login, user):
    response = login(request.getfixturevalue(user)).get(reverse("glossary"))
    assert response.status_code == 200
    body = response.content.decode()
    for t in TERMS:
        assert f'id="{t.slug}"' in body and f'href="#{t.slug}"' in body
    assert "The chance of a difference this large by luck alone" in body


def test_the_glossary_needs_a_login_and_a_get(client, login, rep):
    assert client.get(reverse("glossary")).status_code == 302
    assert login(rep).post(reverse("glossary")).status_code == 405


def test_the_term_tag_links_to_the_entry():
    html = Template(
        '{% load glossary %}{% term "natural-process-limits" "natural process limits" %} · '
        "{% term 'xmr-chart' %} · {% term \"p85\" label %}"
    ).render(Context({"label": "<p85>"}))
    assert html.startswith(
        '<a class="term" href="/glossary/#natural-process-limits" title="The band a weekly '
        'figure moves in when nothing has changed.">natural process limits</a>'
    )
    assert '<a class="term" href="/glossary/#xmr-chart"' in html and ">XmR chart</a>" in html
    assert ">&lt;p85&gt;</a>" in html  # text is escaped


@pytest.mark.parametrize(
    "source",
    [
        '{% load glossary %}{% term "natural-proces-limits" %}',  # a typo
        "{% load glossary %}{% term slug_variable %}",  # the slug must be a literal
        "{% load glossary %}{% term %}",
        '{% load glossary %}{% term "wip" "a" "b" %}',
    ],
)
def test_an_unknown_or_malformed_term_fails_when_the_template_loads(source):
    with pytest.raises(TemplateSyntaxError):
        Template(source)
