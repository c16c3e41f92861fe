"""A share (0-1) as a percentage with one decimal: 0.1234 -> "12.3 %"; none -> "–"."""

from django import template

register = template.Library()


@register.filter
def percent(value) -> str:
    if value is None or value == "":
        return "–"
    return f"{float(value) * 100:.1f} %"
