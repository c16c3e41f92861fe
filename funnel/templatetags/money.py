"""Amounts with their team's currency: ``{{ deal.amount|money:team }}`` -> "$25,000"."""

from decimal import Decimal, InvalidOperation

from django import template

register = template.Library()

# Symbols people read at a glance; any other ISO code is written before the number ("CHF 1,200").
SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹", "BRL": "R$"}


def format_money(amount, currency: str) -> str:
    """Whole units with thousands separators; None or a non-number gives ""."""
    if amount is None or amount == "":
        return ""
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        return ""
    sign = "−" if value < 0 else ""
    number = f"{abs(value):,.0f}"
    symbol = SYMBOLS.get(currency)
    if symbol:
        return f"{sign}{symbol}{number}"
    return f"{sign}{currency} {number}"


@register.filter
def money(amount, team) -> str:
    """Format ``amount`` in ``team.currency`` (a team, or a currency code as a string)."""
    currency = team if isinstance(team, str) else getattr(team, "currency", "USD")
    return format_money(amount, currency or "USD")
