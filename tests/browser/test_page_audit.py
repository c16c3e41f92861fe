"""The page audit of issue #16's "Done when": every page each role can reach, at a desk
(1366x900) and on a phone (390x844), in a real browser over the demo data set.

For each page: the page does not scroll sideways; no element of a verdict, chart or table
region is cut by an ancestor's overflow (the import preview, which scrolls inside its own box,
is the one allowed exception: SCROLL_BOXES); the latest point of every XmR chart is inside the
viewport; and axe-core (vendored: tests/browser/vendor/README.md) finds no serious or critical
violation. All problems of all pages of one role at one size are collected and reported in one
failure. Full-page screenshots: artifacts/screenshots/audit/<role>-<size>-<page>.png.
"""

from __future__ import annotations

import csv
import io
import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import Resolver404, resolve

from funnel.demo_teams import DEMO_PASSWORD
from funnel.imports.service import import_job_create
from funnel.models import Deal, Team
from kaizen.models import Cycle, Phase

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
AXE_SOURCE = AXE.read_text() + "\n;true"
CSV = Path(__file__).resolve().parents[1] / "fixtures" / "csv" / "hubspot_deals.csv"
EXTRA_COLUMNS = 25  # on top of the export's 20: a 45-column file, as a real CRM export can be

ROLES = {
    "administrator": "admin@demo.kaizen",
    "manager": "dana@demo.kaizen",
    "executive": "erin@demo.kaizen",
    "rep": "ravi@demo.kaizen",
}
SIZES = {"desk": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}

# Where a cut element is a broken page: the verdicts, the charts and the tables.
REGIONS = ", ".join(
    [
        ".verdict",
        ".kz-verdict",
        "figure.xmr",
        "figure.forest",
        ".vsm",
        "svg.spark",
        "table",
    ]
)
# The one allowed exception: a scroll box of its own, marked by its class. An element inside it
# may extend past its edges (the box scrolls); the box itself must fit its page like any other.
SCROLL_BOXES = ".import-preview"
# Problems axe reports at these levels fail the audit.
AXE_IMPACTS = ("serious", "critical")
# Not audited by axe: the DOM Swagger UI builds on the API docs page (third-party, vendored by
# django-ninja: its own colours and nested controls). The page around it (templates/ninja/) is.
AXE_EXCLUDE = ["#swagger-ui"]
# Added by other branches of issue #16; skipped (with a warning) until their URL resolves.
PENDING = ("team-settings", "glossary")

LAYOUT_JS = """
([regions, scrollBoxes]) => {
  const doc = document.documentElement;
  const styles = new Map();
  const style = (el) => {
    if (!styles.has(el)) styles.set(el, getComputedStyle(el));
    return styles.get(el);
  };
  const name = (el, withText = true) => {
    let s = el.tagName.toLowerCase();
    if (el.id) s += '#' + el.id;
    const cls = (el.getAttribute('class') || '').trim().split(/\\s+/).filter(Boolean);
    if (cls.length) s += '.' + cls.slice(0, 2).join('.');
    const text = withText ? (el.textContent || '').trim().replace(/\\s+/g, ' ') : '';
    if (text) s += ' "' + (text.length > 30 ? text.slice(0, 30) + '…' : text) + '"';
    return s;
  };
  // The box an ancestor clips its content to: its padding box (an inline svg: its box).
  const inner = (el) => {
    const r = el.getBoundingClientRect();
    if (el.clientWidth === 0 && el.clientHeight === 0) return r;
    const left = r.left + el.clientLeft, top = r.top + el.clientTop;
    return {left, top, right: left + el.clientWidth, bottom: top + el.clientHeight};
  };
  // The elements whose overflow can clip content placed in `from` (an absolutely positioned
  // box escapes the overflow of the ancestors between it and its containing block; a fixed
  // one escapes all). The allowed scroll boxes are left out.
  const clippers = (from, self) => {
    const found = [];
    let escaping = false;
    for (let a = from; a && a !== document.body && a !== doc; a = a.parentElement) {
      const cs = style(a);
      if (a !== from || self) {
        if (escaping && cs.position === 'static' && cs.transform === 'none') continue;
        escaping = false;
        const clips = cs.overflowX !== 'visible' || cs.overflowY !== 'visible';
        if (clips && !a.matches(scrollBoxes)) found.push(a);
      }
      if (cs.position === 'fixed') break;
      if (cs.position === 'absolute') escaping = true;
    }
    return found;
  };
  const T = 1;  // px of tolerance for rounding and strokes
  const cutBy = (r, a, slack) => {
    const box = inner(a), cs = style(a), sides = [];
    const x = cs.overflowX !== 'visible', y = cs.overflowY !== 'visible';
    const by = (side, px) => sides.push(side + ' by ' + Math.round(px) + ' px');
    if (x && r.right > box.right + T) by('right', r.right - box.right);
    if (x && r.left < box.left - T) by('left', box.left - r.left);
    if (y && r.bottom > box.bottom + slack) by('bottom', r.bottom - box.bottom);
    if (y && r.top < box.top - slack) by('top', box.top - r.top);
    return sides;
  };
  const UNSEEN = '.visually-hidden, .sr-only, title, desc, option, template, '
    + 'details:not([open]) > :not(summary)';
  const shown = (el) => {
    const cs = style(el);
    return cs.visibility !== 'hidden' && cs.display !== 'none' && !el.closest(UNSEEN);
  };
  const GRAPHICS = 'circle, rect, line, path, polyline, polygon, ellipse, image, use, img, '
    + 'input, select, textarea, canvas, video';

  // A badge or pill: an inline box with a background or a border of its own.
  const painted = (el) => {
    const cs = style(el);
    if (!cs.display.startsWith('inline') || !(el instanceof HTMLElement)) return false;
    const transparent = (c) => c === 'transparent' || c.endsWith(', 0)');
    return !transparent(cs.backgroundColor)
      || (parseFloat(cs.borderRightWidth) > 0 && !transparent(cs.borderRightColor));
  };
  // What a reader sees: the text, graphics, controls and badges of each region. A block or a
  // cell wider than its container only by its padding cuts nothing, so those are not measured.
  const leaves = [];
  const seen = new Set();
  for (const region of document.querySelectorAll(regions)) {
    for (const el of [region, ...region.querySelectorAll('*')]) {
      if (seen.has(el)) continue;
      seen.add(el);
      if (!shown(el)) continue;
      if (el.matches(GRAPHICS) || painted(el)) {
        const r = el.getBoundingClientRect();
        if (r.width >= 1 || r.height >= 1) {
          leaves.push({el, r, from: el.parentElement, self: true, slack: T});
        }
      }
      if (style(el).textOverflow === 'ellipsis') continue;  // a deliberate, titled truncation
      for (const node of el.childNodes) {
        if (node.nodeType !== Node.TEXT_NODE || !node.textContent.trim()) continue;
        const range = document.createRange();
        range.selectNodeContents(node);
        const r = range.getBoundingClientRect();
        // A text box's top and bottom hold the font's ascent and descent above and below the
        // glyphs: allow a third of the font size there.
        const slack = Math.max(T, parseFloat(style(el).fontSize) / 3);
        if (r.width > 0) leaves.push({el, r, from: el, self: true, slack});
      }
    }
  }
  // One line per clipping box: how many pieces of text or graphics it cuts, and the first.
  const cuts = new Map();
  for (const {el, r, from, self, slack} of leaves) {
    for (const a of clippers(from, self)) {
      const sides = cutBy(r, a, slack);
      if (!sides.length) continue;
      const entry = cuts.get(a) || {count: 0, example: name(el) + ' (' + sides.join(', ') + ')'};
      entry.count += 1;
      cuts.set(a, entry);
    }
  }
  const cut = [...cuts].map(([a, e]) => name(a, false) + ' cuts ' + e.count
    + (e.count === 1 ? ' piece' : ' pieces') + ' of text or graphics, e.g. ' + e.example);

  // The latest point of each XmR chart: inside the viewport and not cut by a container.
  const points = [];
  for (const svg of document.querySelectorAll('figure.xmr svg')) {
    const pts = svg.querySelectorAll('.pt');
    if (!pts.length) continue;
    const last = pts[pts.length - 1], r = last.getBoundingClientRect();
    const figure = svg.closest('figure');
    const chart = figure.id || name(figure, false);
    if (r.left < -T || r.right > doc.clientWidth + T) {
      points.push(chart + ': latest point at x ' + Math.round(r.left) + '–' + Math.round(r.right)
        + ', outside the viewport 0–' + doc.clientWidth);
    }
    for (const a of clippers(last, false)) {
      const sides = cutBy(r, a, T);
      if (sides.length) points.push(chart + ': latest point cut by ' + name(a, false)
        + ' (' + sides.join(', ') + ')');
    }
  }
  return {scrollWidth: doc.scrollWidth, clientWidth: doc.clientWidth, cut, points};
}
"""

AXE_JS = """
async ([impacts, exclude]) => {
  const result = await axe.run({exclude: exclude.map((s) => [s])}, {resultTypes: ['violations']});
  return result.violations.filter((v) => impacts.includes(v.impact)).map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    targets: v.nodes.map((n) => {
      const data = (n.any[0] || {}).data;
      const colours = data && data.fgColor
        ? ' [' + data.fgColor + ' on ' + data.bgColor + ': ' + data.contrastRatio + ':1]' : '';
      return n.target.join(' ') + colours;
    }),
  }));
}
"""


@dataclass(frozen=True)
class AuditPage:
    name: str
    url: str


def _resolves(url: str) -> bool:
    try:
        resolve(url.split("?")[0])
    except Resolver404:
        return False
    return True


@pytest.fixture
def demo(live_server, plain_http_cookies) -> dict:
    """The demo data set (seed_demo: two teams, a year of deals, Enterprise's PDCA cycles), plus
    an uploaded CRM export with 45 columns awaiting its mapping (the import preview)."""
    call_command("seed_demo", stdout=io.StringIO())
    team = Team.objects.get(slug="enterprise")
    # As `manage.py import_csv` leaves it: no uploader.
    job = import_job_create(
        team=team, uploaded_by=None, filename="hubspot_wide.csv", content=wide_csv()
    )
    deal = Deal.objects.filter(team=team, owner__email=ROLES["rep"]).order_by("id").first()
    doing = Cycle.objects.get(team=team, phase=Phase.DO)
    closed = Cycle.objects.filter(team=team, phase=Phase.CLOSED).order_by("id").first()
    return {"team": team, "job": job, "deal": deal, "doing": doing, "closed": closed}


def wide_csv() -> bytes:
    """The HubSpot export with custom fields appended: a preview far wider than a phone."""
    rows = list(csv.reader(io.StringIO(CSV.read_text(encoding="utf-8"))))
    out = io.StringIO()
    writer = csv.writer(out)
    for number, row in enumerate(rows):
        extra = range(1, EXTRA_COLUMNS + 1)
        added = [f"Custom field {i}" if number == 0 else f"v{i}" for i in extra]
        writer.writerow(row + added)
    return out.getvalue().encode()


def audit_pages(demo: dict) -> tuple[list[AuditPage], list[AuditPage]]:
    """Every page of the product a role may meet, and the pages not on this branch yet."""
    t = f"/teams/{demo['team'].slug}"
    pages = [
        AuditPage("home", "/"),
        AuditPage("company-dashboard", "/dashboard/"),
        AuditPage("company-winnable", "/winnable/"),
        AuditPage("company-departments", "/winnable/departments/"),
        AuditPage("team-overview", f"{t}/"),
        AuditPage("team-dashboard", f"{t}/dashboard/"),
        AuditPage("deals", f"{t}/deals/"),
        AuditPage("deal", f"{t}/deals/{demo['deal'].id}/"),
        AuditPage("kaizen-board", f"{t}/kaizen/"),
        AuditPage("cycle-do", f"{t}/kaizen/{demo['doing'].id}/"),
        AuditPage("cycle-closed", f"{t}/kaizen/{demo['closed'].id}/"),
        AuditPage("cycle-new", f"{t}/kaizen/new/"),
        AuditPage("definitions", f"{t}/definitions/"),
        AuditPage("definition", f"{t}/definitions/stage-qualified/"),
        AuditPage("definition-edit", f"{t}/definitions/stage-qualified/edit/"),
        AuditPage("stale-rule", f"{t}/definitions/rules/stale/"),
        AuditPage("winnable", f"{t}/winnable/"),
        AuditPage("departments", f"{t}/winnable/departments/"),
        AuditPage("characteristics", f"{t}/characteristics/"),
        AuditPage("characteristic-new", f"{t}/characteristics/new/"),
        AuditPage("pipeline-5s", f"{t}/pipeline-5s/"),
        AuditPage("stages", f"{t}/stages/"),
        AuditPage("stage-targets", f"{t}/stages/qualified/targets/"),
        AuditPage("imports", f"{t}/imports/"),
        AuditPage("import-preview", f"{t}/imports/{demo['job'].id}/"),
        AuditPage("members", f"{t}/members/"),
        AuditPage("team-new", "/teams/new/"),
        AuditPage("team-settings", f"{t}/settings/"),
        AuditPage("glossary", "/glossary/"),
        AuditPage("api-docs", "/api/v1/docs"),
        AuditPage("not-found", f"{t}/kaizen/999999/"),
    ]
    # Pages other branches of issue #16 add: audited once their URL resolves on this branch.
    pending = [p for p in pages if p.name in PENDING and not _resolves(p.url)]
    return [p for p in pages if p not in pending], pending


def log_in(page, base_url: str, email: str) -> None:
    page.goto(f"{base_url}/login/")
    page.fill("#id_username", email)
    page.fill("#id_password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/")


def page_problems(page, status: int | None) -> list[str]:
    """What is wrong with the page now open: one line per problem."""
    problems = []
    if status not in (200, 403, 404):
        problems.append(f"HTTP status {status}")
    layout = page.evaluate(LAYOUT_JS, [REGIONS, SCROLL_BOXES])
    if layout["scrollWidth"] > layout["clientWidth"]:
        problems.append(
            f"scrolls sideways: {layout['scrollWidth']} px wide in {layout['clientWidth']} px"
        )
    problems += [f"cut: {line}" for line in layout["cut"]]
    problems += [f"chart: {line}" for line in layout["points"]]
    # Through DevTools, not a <script> tag: the page's Content-Security-Policy (no inline
    # script) would rightly refuse a tag, and the audit must see the page as it is served.
    page.evaluate(AXE_SOURCE)
    for v in page.evaluate(AXE_JS, [list(AXE_IMPACTS), AXE_EXCLUDE]):
        targets = ", ".join(v["targets"][:3]) + (" …" if len(v["targets"]) > 3 else "")
        problems.append(
            f"axe {v['id']} ({v['impact']}): {v['help']}; {len(v['targets'])} node(s): {targets}"
        )
    return problems


@pytest.mark.parametrize("role", ROLES)
def test_every_page_fits_and_passes_axe(browser, live_server, demo, screenshots_dir, role):
    """Both sizes in one test per role: the demo is seeded once for the two (live_server
    empties the database after each test, and seeding is most of a test's set-up)."""
    pages, pending = audit_pages(demo)
    out = screenshots_dir / "audit"
    out.mkdir(exist_ok=True)
    failures = []
    for size in SIZES:
        failures += _audit_role_at(browser, live_server, pages, out, role, size)
    for skipped in pending:
        warnings.warn(
            f"page audit: {skipped.url} ({skipped.name}) does not exist yet, not audited",
            stacklevel=1,
        )
    assert not failures, (
        f"{len(failures)} of {2 * len(pages)} page views fail the audit:\n" + "\n".join(failures)
    )


def _audit_role_at(browser, live_server, pages, out, role: str, size: str) -> list[str]:
    for stale in out.glob(f"{role}-{size}-*.png"):
        stale.unlink()
    context = browser.new_context(viewport=SIZES[size], reduced_motion="reduce")
    context.set_default_timeout(90_000)
    page = context.new_page()
    # What the browser refused under the Content-Security-Policy (issue 17): none on any page.
    blocked: list[str] = []
    page.on(
        "console",
        lambda message: (
            blocked.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    failures = []
    refusals = set()  # a 403 or 404 page is one template: audited the first time it is met
    try:
        log_in(page, live_server.url, ROLES[role])
        for audited in pages:
            blocked.clear()
            response = page.goto(f"{live_server.url}{audited.url}")
            status = response.status if response else None
            page.screenshot(path=out / f"{role}-{size}-{audited.name}.png", full_page=True)
            csp = [f"blocked by the Content-Security-Policy: {text[:160]}" for text in blocked]
            if status in refusals:
                if csp:
                    failures.append(f"{role} {size} {audited.name}: " + "; ".join(csp))
                continue
            if status in (403, 404):
                refusals.add(status)
            problems = csp + page_problems(page, status)
            if problems:
                head = f"{role} {size} {audited.name} ({audited.url}, {status}):"
                failures.append("\n    ".join([head, *problems]))
    finally:
        context.close()
    return failures


CHECKER_PAGE = Path(__file__).parent / "audit_checker.html"


def test_the_layout_checks_find_cuts_a_reader_would_see(browser):
    """The checker itself, on a page made to fail in known ways at 390 px."""
    context = browser.new_context(viewport=SIZES["phone"])
    page = context.new_page()
    page.set_content(CHECKER_PAGE.read_text())
    layout = page.evaluate(LAYOUT_JS, [REGIONS, SCROLL_BOXES])
    context.close()
    assert layout["scrollWidth"] == 500 > layout["clientWidth"] == 390  # the chart: 200 + 300
    cut = "\n".join(layout["cut"])
    assert len(layout["cut"]) == 2, cut
    assert 'div#cut.box cuts 1 piece of text or graphics, e.g. td "far too wide' in cut
    assert 'div#badge.hidden cuts 1 piece of text or graphics, e.g. span.badge "badge"' in cut
    assert "(right by 14 px)" in cut  # 132 px from x 2 (table spacing) in 120 px
    assert layout["points"] == ["chart: latest point at x 487–493, outside the viewport 0–390"]
