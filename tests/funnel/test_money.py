"""Amounts carry their team's currency."""

from decimal import Decimal

import pytest

from funnel.templatetags.money import format_money, money


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        (Decimal("2950000"), "USD", "$2,950,000"),
        (Decimal("1234.56"), "EUR", "€1,235"),
        (1200, "CHF", "CHF 1,200"),
        (Decimal("-50"), "GBP", "−£50"),
        (0, "USD", "$0"),
        (None, "USD", ""),
        ("not a number", "USD", ""),
    ],
)
def test_format_money(amount, currency, expected):
    assert format_money(amount, currency) == expected


def test_money_reads_the_team_currency(team):
    team.currency = "EUR"
    assert money(Decimal("25000"), team) == "€25,000"
    assert money(Decimal("25000"), "JPY") == "¥25,000"
