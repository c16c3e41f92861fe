"""The attacker's and operator's probes of issue 17, re-run over HTTP against a live server.

    uv run python bench/probes.py --base http://127.0.0.1:8765 --team enterprise \
        --token <team API token> --manager dana@demo.kaizen --password kaizen-demo-2026 \
        --victim tom@demo.kaizen

Each probe prints what it sent, what came back, and whether that is what the product promises.
It writes to the team it is given (a few events on deal PROBE-1, a few refused uploads) and
locks out the `--victim` account for the cool-off period: point it at a demo or staging server,
never at production. The fault probes (worker killed, Redis stopped or flushed, PostgreSQL
restarted) are tests/integration/test_faults.py and test_import_faults.py.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import random
import re
import secrets
import sys
from dataclasses import dataclass

import requests


@dataclass
class Probe:
    name: str
    result: str
    ok: bool


RESULTS: list[Probe] = []
# The server is run as in production (DEBUG off, behind a TLS proxy): say the proxy's word for
# https, and let the session send its Secure cookies over the plain local connection.
PROXY = {"X-Forwarded-Proto": "https"}


class Session(requests.Session):
    def __init__(self) -> None:
        super().__init__()
        self.headers.update(PROXY)

    def request(self, *args, **kwargs):
        response = super().request(*args, **kwargs)
        for cookie in self.cookies:
            cookie.secure = False
        return response


def record(name: str, result: str, ok: bool) -> None:
    RESULTS.append(Probe(name, result, ok))
    print(f"{'PASS' if ok else 'FAIL'}  {name}: {result}", flush=True)


def api_post(args, path: str, body, token: str | None = None) -> requests.Response:
    return requests.post(
        f"{args.base}/api/v1{path}",
        data=body if isinstance(body, (bytes, str)) else json.dumps(body),
        headers={
            "Authorization": f"Bearer {token or args.token}",
            "Content-Type": "application/json",
            **PROXY,
        },
        timeout=30,
    )


def api_get(args, path: str, token: str | None = None) -> requests.Response:
    return requests.get(
        f"{args.base}/api/v1{path}",
        headers={"Authorization": f"Bearer {token or args.token}", **PROXY},
        timeout=30,
    )


def event(event_id: str, *, occurred_at="2026-11-02T09:00:00+00:00", deal=None, **extra) -> dict:
    return {
        "id": event_id,
        "deal": deal or {"id": "PROBE-1", "account": "Oakridge Partners", "amount": 25000},
        "stage": extra.pop("stage", None) or args_stage,
        "occurred_at": occurred_at,
        **extra,
    }


args_stage = "inquiry"


def errors_of(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:120]
    return "; ".join(
        f"[{e.get('index')}] {e.get('field')}: {e.get('message')}" for e in body.get("errors", [])
    ) or body.get("detail", "")


def probe_dates(args) -> None:
    for stamp in (
        "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59-14:00",
        "1969-12-31T23:00:00+00:00",
    ):
        response = api_post(
            args, "/events", {"events": [event(f"P-date-{stamp}", occurred_at=stamp)]}
        )
        record(
            f"event dated {stamp}",
            f"{response.status_code} {errors_of(response)}",
            response.status_code == 422,
        )


def probe_text(args) -> None:
    for label, value in (("NUL", "Acme\x00Corp"), ("lone surrogate", "Acme\ud800")):
        body = json.dumps(
            {"events": [event(f"P-{label}", deal={"id": "PROBE-2", "account": value})]}
        )
        response = api_post(args, "/events", body.encode("utf-8", "surrogatepass"))
        record(
            f"{label} in deal.account",
            f"{response.status_code} {errors_of(response)}",
            response.status_code in {400, 422},
        )


def probe_offsets(args) -> None:
    for offset in (2**63, 2**64, -1, "1e9999"):
        response = api_get(args, f"/deals?offset={offset}")
        record(
            f"/deals?offset={offset}",
            f"{response.status_code} {errors_of(response)}",
            response.status_code == 422,
        )


def probe_repeated_id(args) -> None:
    response = api_post(args, "/events", {"events": [event("P-rep"), event("P-rep")]})
    record(
        "repeated event id in one batch",
        f"{response.status_code} {errors_of(response)}",
        response.status_code == 422,
    )


def probe_bad_tokens(args) -> None:
    codes: dict[int, int] = {}
    for _ in range(300):
        response = api_get(args, "/stages", token=secrets.token_urlsafe(24))
        codes[response.status_code] = codes.get(response.status_code, 0) + 1
    retry = response.headers.get("Retry-After")
    record(
        "300 random API tokens from one address",
        f"{codes}, last Retry-After {retry}",
        codes.get(429, 0) > 0 and codes.get(401, 0) <= 20,
    )


def _login(session: Session, url: str, email: str, password: str) -> requests.Response:
    page = session.get(url, timeout=30)
    token = session.cookies.get("csrftoken") or re.search(
        r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text
    ).group(1)
    return session.post(
        url,
        data={"username": email, "password": password, "csrfmiddlewaretoken": token},
        headers={"Referer": url.replace("http://", "https://")},
        timeout=30,
        allow_redirects=False,
    )


def _wrong_passwords(args, path: str, emails) -> list[int]:
    session = Session()
    return [
        _login(session, f"{args.base}{path}", email, "wrong-" + secrets.token_hex(4)).status_code
        for email in emails
    ]


def probe_logins(args) -> None:
    """One account on the app's login, another on the admin's (12 wrong passwords each: each
    must lock at the account's limit, 5), then new accounts from the same address until the
    address's own limit (30 in all) locks it."""
    for label, path, victim in (
        ("app login", "/login/", args.victim),
        ("admin login", "/admin/login/", args.admin_victim or args.victim),
    ):
        codes = _wrong_passwords(args, path, [victim] * 12)
        first_429 = codes.index(429) + 1 if 429 in codes else None
        record(
            f"12 wrong passwords for one account, {label}",
            f"first 429 at attempt {first_429}; codes {sorted(set(codes))}",
            first_429 == 5,
        )
    strangers = [f"nobody-{secrets.token_hex(3)}@example.com" for _ in range(10)]
    codes = _wrong_passwords(args, "/login/", strangers)
    first_429 = codes.index(429) + 1 if 429 in codes else None
    record(
        "then new accounts from the same address",
        f"first 429 at the address's failure {24 + first_429 if first_429 else None}",
        first_429 is not None and 24 + first_429 == 30,
    )


def probe_csp(args) -> None:
    session = Session()
    _login(session, f"{args.base}/login/", args.manager, args.password)
    page = session.get(f"{args.base}/teams/{args.team}/", timeout=30)
    fragment = session.get(
        f"{args.base}/teams/{args.team}/", headers={"HX-Request": "true"}, timeout=30
    )
    for label, answer in (("page", page), ("htmx fragment", fragment)):
        csp = answer.headers.get("Content-Security-Policy", "")
        record(f"CSP on a {label}", csp[:90] or "none", "script-src 'self'" in csp)
    policy = page.headers.get("Permissions-Policy", "")
    record("Permissions-Policy", policy[:90] or "none", bool(policy))
    args.session = session


def probe_uploads(args) -> None:
    session = args.session
    url = f"{args.base}/teams/{args.team}/imports/"
    rng = random.Random(17)
    files = {
        "random bytes": bytes(rng.getrandbits(8) for _ in range(20_000)),
        "PNG named .csv": b"\x89PNG\r\n\x1a\n" + bytes(200),
        "UTF-16 with BOM": "deal_id,stage,date\nD-1,Inquiry,2026-01-05\n".encode("utf-16"),
        "NUL in the header": b"deal_id,st\x00age,date\nD-1,Inquiry,2026-01-05\n",
    }
    for label, content in files.items():
        session.get(url, timeout=30)
        response = session.post(
            url,
            files={"file": ("probe.csv", content, "text/csv")},
            data={"csrfmiddlewaretoken": session.cookies.get("csrftoken")},
            headers={"Referer": url.replace("http://", "https://")},
            timeout=60,
        )
        record(f"upload {label}", _upload_answer(response), response.status_code < 500)


def _upload_answer(response: requests.Response) -> str:
    errors = re.findall(
        r'class="(?:field-error|errorlist[^"]*)"[^>]*>(.*?)</(?:p|ul)>', response.text, re.S
    )
    if errors:
        words = html.unescape(re.sub(r"<[^>]+>", " ", errors[0]))
        return f"{response.status_code} refused: {' '.join(words.split())}"
    columns = response.text.count('name="col_')
    return f"{response.status_code} taken: mapping preview with {columns} columns"


def probe_history(args) -> None:
    """An API batch overwrites a deal's amount and account: the deal's history must show the
    old and new values, and which token sent them."""
    deal_id = f"PROBE-H-{secrets.token_hex(3)}"
    first = event(
        f"{deal_id}-1", deal={"id": deal_id, "account": "Oakridge Partners", "amount": 25000}
    )
    again = event(
        f"{deal_id}-2",
        deal={"id": deal_id, "account": "Overwritten Inc", "amount": 1},
        stage=args.stage,
        occurred_at="2026-11-03T09:00:00+00:00",
    )
    for body in (first, again):
        api_post(args, "/events", {"events": [body]})
    deal = api_get(args, "/deals?limit=500")
    page = args.session.get(
        f"{args.base}/teams/{args.team}/deals/", params={"q": deal_id}, timeout=30
    )
    found = re.search(rf"/teams/{args.team}/deals/(\d+)/", page.text)
    if not found or deal.status_code != 200:
        record("deal history after an API overwrite", "deal not found", False)
        return
    history = args.session.get(
        f"{args.base}/teams/{args.team}/deals/{found.group(1)}/history/", timeout=30
    )
    text = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", history.text)).split())
    shown = all(word in text for word in ("Oakridge Partners", "Overwritten Inc", "API token"))
    excerpt = re.search(r"Oakridge Partners.{0,80}", text)
    record(
        "deal history after an API overwrite",
        f"{history.status_code} {excerpt.group(0) if excerpt else text[:120]}",
        history.status_code == 200 and shown,
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--base", default=os.environ.get("PROBE_BASE", "http://127.0.0.1:8765"))
    parser.add_argument("--team", required=True)
    parser.add_argument("--stage", default="inquiry")
    parser.add_argument("--token", required=True)
    parser.add_argument("--manager", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--victim", required=True, help="an account the login probes lock out")
    parser.add_argument("--admin-victim", help="another one, for the admin's login")
    args = parser.parse_args()
    global args_stage
    args_stage = args.stage
    for probe in (
        probe_dates,
        probe_text,
        probe_offsets,
        probe_repeated_id,
        probe_csp,
        probe_uploads,
        probe_history,
        probe_logins,
        probe_bad_tokens,
    ):
        probe(args)
    failed = [p for p in RESULTS if not p.ok]
    print(f"\n{len(RESULTS) - len(failed)} of {len(RESULTS)} probes answered as promised")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
