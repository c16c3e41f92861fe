"""How a cycle's metric reads: conversion as a percent of decided deals, arrivals a week."""

from django import template

register = template.Library()


@register.filter
def cycle_rate(value, conversion) -> str:
    """A stored rate in display units: 0.2955 -> "29.5 %" (conversion, a fraction of decided
    deals); 3.25 -> "3.2 a week" (arrivals). None -> "—"."""
    if value is None or value == "":
        return "—"
    if conversion:
        return f"{float(value) * 100:.1f} %"
    return f"{float(value):.1f} a week"


@register.filter
def cycle_rate_range(low, high) -> str:
    """A stored interval of a conversion rate: (0.17, 0.45) -> "17–45 %"."""
    if low is None or high is None:
        return ""
    return f"{float(low) * 100:.0f}–{float(high) * 100:.0f} %"
