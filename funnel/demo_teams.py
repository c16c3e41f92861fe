"""The demo's cast: its logins and its two teams' profiles (what funnel.demo_data draws from)."""

from funnel.demo_data import ConversionWindow, DemoUser, TeamProfile, WeekStep

# Among a handful of seeds tried, this one's sample shows the built-in effects (module docstring)
# without chance hiding any of them, so the demo's statistics tell the truth about the data.
# Enterprise has its own ("f", TeamProfile.seed), tried the same way once its story was added;
# its verdict and its cycles' Checks were checked for each weekday of the anchor.
DEMO_SEED = "c"
DEMO_PASSWORD = "kaizen-demo-2026"
DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser("Dana Whitfield", "dana@demo.kaizen", "enterprise", "manager"),
    DemoUser("Ravi Patel", "ravi@demo.kaizen", "enterprise", "rep"),
    DemoUser("Sofia Moreno", "sofia@demo.kaizen", "enterprise", "rep"),
    DemoUser("Tom Becker", "tom@demo.kaizen", "enterprise", "rep"),
    DemoUser("Marcus Lee", "marcus@demo.kaizen", "mid-market", "manager"),
    DemoUser("Ana Costa", "ana@demo.kaizen", "mid-market", "rep"),
    DemoUser("Jon Eriksen", "jon@demo.kaizen", "mid-market", "rep"),
    # Executives see every team through one executive membership.
    DemoUser("Erin Okafor", "erin@demo.kaizen", "enterprise", "executive"),
)


def _reps(team: str) -> tuple[str, ...]:
    return tuple(u.email for u in DEMO_USERS if u.team == team and u.role == "rep")


DEMO_TEAMS: tuple[TeamProfile, ...] = (
    TeamProfile(
        slug="enterprise",
        name="Enterprise",
        prefix="ENT",
        deals=500,
        reps=_reps("enterprise"),
        advance={
            "inquiry": 0.75,
            "engaged": 0.74,
            "qualified": 0.65,
            "proposal": 0.55,
            "negotiation": 0.78,
            "handover": 0.95,
        },
        recent_advance={"proposal": 0.22},
        median_days={
            "inquiry": 3,
            "engaged": 8,
            "qualified": 14,
            "proposal": 16,
            "negotiation": 12,
            "handover": 12,
        },
        amount_median=48_000,
        amount_step=500,
        seed="f",
        arrivals_step=WeekStep(weeks=28, ratio=2.0),
        conversion_windows=(ConversionWindow("qualified", start_weeks=20, weeks=6, advance=0.74),),
    ),
    TeamProfile(
        slug="mid-market",
        name="Mid-Market",
        prefix="MM",
        deals=380,
        reps=_reps("mid-market"),
        advance={
            "inquiry": 0.76,
            "engaged": 0.72,
            "qualified": 0.66,
            "proposal": 0.60,
            "negotiation": 0.78,
            "handover": 0.97,
        },
        recent_advance={},
        median_days={
            "inquiry": 2,
            "engaged": 6,
            "qualified": 9,
            "proposal": 10,
            "negotiation": 8,
            "handover": 9,
        },
        amount_median=12_000,
        amount_step=100,
    ),
)
