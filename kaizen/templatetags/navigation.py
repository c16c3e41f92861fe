"""The team menu every team page carries, and the team's place in the breadcrumbs.

A page shows the menu when its context has ``access`` (a TeamAccess). Each item is shown only
to the roles whose views let them open it: the same rules as the views' checks (funnel.selectors
ROLE_RIGHTS; the winnable analysis refuses reps, funnel.winnable.selectors), so the menu never
offers a page that answers 403.
"""

from dataclasses import dataclass
from functools import lru_cache

from django import template
from django.conf import settings
from django.urls import ResolverMatch, get_script_prefix, get_urlconf, reverse

from funnel.models import Role
from funnel.selectors import TeamAccess

register = template.Library()


@dataclass(frozen=True)
class MenuItem:
    key: str
    label: str
    url: str
    current: bool = False


# Which menu item a page belongs to, by its URL name (namespaced names as "namespace:name").
SECTIONS = {
    "team_dashboard": "dashboard",
    "team_overview": "funnel",
    "deal_list": "deals",
    "deal_detail": "deals",
    "definitions:definition_list": "definitions",
    "definitions:definition_detail": "definitions",
    "definitions:definition_edit": "definitions",
    "definitions:stale_rule": "definitions",
    "winnable_team": "winnable",
    "departments_team": "winnable",
    "characteristic_list": "winnable",
    "characteristic_new": "winnable",
    "tactics_team": "tactics",
    "tactic_edit": "tactics",
    "pipeline_5s": "pipeline_5s",
    "import_list": "imports",
    "import_detail": "imports",
    "import_validate": "imports",
    "import_start": "imports",
    "import_owner_names": "imports",
    "import_stages_create": "imports",
    "team_settings": "settings",
    "team_members": "settings",
    "member_invite": "settings",
    "stage_editor": "settings",
    "stage_add": "settings",
    "stage_edit": "settings",
    "stage_merge": "settings",
    "stage_targets": "funnel",
}


@lru_cache(maxsize=4096)
def _team_url(name: str, slug: str, prefix: str, urlconf: str | None) -> str:
    return reverse(name, args=[slug], urlconf=urlconf)


def team_url(name: str, slug: str) -> str:
    """reverse() of a team page, kept for the process's life (URL patterns do not change while
    it runs; the script prefix and the URL configuration are part of the key): every page's
    menu and top bar link a dozen team pages, and each reverse() costs more than the rest of
    the menu."""
    return _team_url(name, slug, get_script_prefix(), get_urlconf() or settings.ROOT_URLCONF)


@register.filter
def team_dashboard_url(slug: str) -> str:
    """The team's dashboard URL, for the top bar's list of teams."""
    return team_url("team_dashboard", slug)


def page_section(match: ResolverMatch | None) -> str:
    if match is None:
        return ""
    if match.namespace == "kaizen":
        return "kaizen"
    return SECTIONS.get(match.view_name, "")


def team_menu_items(access: TeamAccess, current: str = "") -> list[MenuItem]:
    """The pages of the team this user may open, in the order of the team's work."""
    slug = access.team.slug
    if access.administering:
        # An administrator who is not on the team sets up its members and sees nothing else.
        entries = [("settings", "Members", team_url("team_members", slug))]
    else:
        entries = [
            ("dashboard", "Dashboard", team_url("team_dashboard", slug)),
            ("funnel", "Funnel", team_url("team_overview", slug)),
            ("deals", "Deals", team_url("deal_list", slug)),
            ("kaizen", "Kaizen board", team_url("kaizen:cycle_board", slug)),
            ("definitions", "Definitions", team_url("definitions:definition_list", slug)),
        ]
        if access.role != Role.REP:
            entries.append(("winnable", "Winnable", team_url("winnable_team", slug)))
        entries.append(("tactics", "Tactics", team_url("tactics_team", slug)))
        entries.append(("pipeline_5s", "Pipeline clean-up", team_url("pipeline_5s", slug)))
        if access.can_manage:
            entries += [
                ("imports", "Imports", team_url("import_list", slug)),
                ("settings", "Settings", team_url("team_settings", slug)),
            ]
    return [MenuItem(key, label, url, current=key == current) for key, label, url in entries]


def _page_access(context) -> TeamAccess | None:
    access = context.get("access")
    return access if isinstance(access, TeamAccess) else None


@register.inclusion_tag("_nav/team_menu.html", takes_context=True)
def team_menu(context) -> dict:
    access = _page_access(context)
    if access is None:
        return {"access": None}
    request = context.get("request")
    current = page_section(getattr(request, "resolver_match", None))
    items = team_menu_items(access, current)
    here = next((item for item in items if item.current), None)
    return {"access": access, "team": access.team, "items": items, "here": here}


@register.inclusion_tag("_nav/team_crumb.html", takes_context=True)
def team_crumb(context) -> dict:
    """The team's breadcrumb (to its dashboard, or its members page for an administrator)."""
    access = _page_access(context)
    if access is None:
        return {"team": None}
    name = "team_members" if access.administering else "team_dashboard"
    return {"team": access.team, "url": team_url(name, access.team.slug)}
