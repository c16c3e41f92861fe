"""On the demo, at 390 px and at 1366 px: every XmR chart fits its card (no mark or label
outside the drawn SVG, the SVG inside its figure, no sideways scroll), its latest point is in
the viewport, its text is at least 10 px; the cycle page shows the Do window; the value
stream runs top to bottom on the phone with the bottleneck in the viewport's width, and
side by side at 1366 px without being cut. Screenshots: artifacts/screenshots/charts-*.png."""

from io import StringIO

import pytest
from django.core.management import call_command

from kaizen.models import Cycle, Phase

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DEMO_PASSWORD = "kaizen-demo-2026"
SIZES = {"phone": {"width": 390, "height": 844}, "desk": {"width": 1366, "height": 900}}

# For each chart: the frame shown, clipped elements, the latest point's box, the smallest text.
CHART_FACTS = """() => Array.from(document.querySelectorAll('figure.xmr')).map(f => {
  const shown = Array.from(f.querySelectorAll('svg.xmr-svg'))
    .filter(s => getComputedStyle(s).display !== 'none');
  const svg = shown[0], box = svg.getBoundingClientRect(), fig = f.getBoundingClientRect();
  const scale = box.width / svg.viewBox.baseVal.width;
  const out = Array.from(svg.querySelectorAll('text, circle, line, rect, path')).filter(e => {
    const b = e.getBoundingClientRect();
    return b.width + b.height > 0 && (b.left < box.left - 0.5 || b.right > box.right + 0.5
      || b.top < box.top - 0.5 || b.bottom > box.bottom + 0.5);
  }).map(e => e.outerHTML.slice(0, 80));
  const last = svg.querySelector('[data-latest] circle').getBoundingClientRect();
  const sizes = Array.from(svg.querySelectorAll('text'))
    .map(t => parseFloat(getComputedStyle(t).fontSize) * scale);
  const doRegion = svg.querySelector('.do-region');
  return {id: f.id, shown: shown.length, frame: svg.dataset.frame, out,
    inFigure: box.left >= fig.left && box.right <= fig.right,
    last: [last.left, last.right], width: innerWidth, smallest: Math.min(...sizes),
    doWidth: doRegion ? doRegion.getBoundingClientRect().width : null};
})"""


@pytest.fixture
def demo():
    call_command("seed_demo", stdout=StringIO())
    doing = Cycle.objects.filter(team__slug="enterprise", phase=Phase.DO).first()
    closed = Cycle.objects.filter(team__slug="enterprise", phase=Phase.CLOSED).first()
    return [
        "/teams/enterprise/dashboard/",
        "/dashboard/",
        f"/teams/enterprise/kaizen/{doing.id}/",
        f"/teams/enterprise/kaizen/{closed.id}/",
    ]


@pytest.mark.parametrize("size", SIZES)
def test_charts_fit_and_show_their_latest_point(
    demo, browser, live_server, plain_http_cookies, screenshots_dir, size
):
    context = browser.new_context(viewport=SIZES[size])
    page = context.new_page()
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "dana@demo.kaizen")
    page.fill("#id_password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    for url in demo:
        assert page.goto(live_server.url + url).status == 200
        name = url.strip("/").replace("/", "-")
        page.screenshot(path=screenshots_dir / f"charts-{size}-{name}.png", full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= SIZES[size]["width"]
        charts = page.evaluate(CHART_FACTS)
        assert charts, url
        for chart in charts:
            where = f"{url} {chart['id']}"
            assert chart["shown"] == 1, where  # one frame at a time
            assert chart["frame"] == ("compact" if size == "phone" else chart["frame"]), where
            assert chart["out"] == [], where
            assert chart["inFigure"], where
            left, right = chart["last"]
            assert left >= 0 and right <= chart["width"], where
            assert chart["smallest"] >= 10, where
        if "/kaizen/" in url:
            assert charts[0]["doWidth"] and charts[0]["doWidth"] > 30, url  # the Do window
        if url == "/teams/enterprise/dashboard/":
            stream_is_seen(page, size)
    context.close()


def stream_is_seen(page, size):
    boxes = page.evaluate(
        """() => Array.from(document.querySelectorAll('.vsm-stage')).map(s => {
             const b = s.getBoundingClientRect();
             return {left: b.left, right: b.right, top: b.top,
                     bottleneck: s.classList.contains('is-bottleneck')};
           })"""
    )
    card = page.evaluate("(() => { const b = document.querySelector('.vsm-card')"
                         ".getBoundingClientRect(); return [b.left, b.right]; })()")  # fmt: skip
    assert any(b["bottleneck"] for b in boxes)
    assert all(card[0] <= b["left"] and b["right"] <= card[1] for b in boxes)  # none cut
    tops = [round(b["top"]) for b in boxes]
    if size == "phone":
        assert tops == sorted(tops) and len(set(tops)) == len(tops)  # one stage a row
    else:
        assert len(set(tops)) == 1  # side by side, as before
