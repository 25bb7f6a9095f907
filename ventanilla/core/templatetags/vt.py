"""Small template helpers shared by every app's pages."""

from __future__ import annotations

from typing import Any

from django import template
from django.conf import settings
from django.http import HttpRequest

register = template.Library()


@register.simple_tag
def query_replace(request: HttpRequest, key: str, value: Any) -> str:
    """The current query string with ``key`` set to ``value`` (or removed when value is empty)."""
    params = request.GET.copy()
    if value in ("", None):
        params.pop(key, None)
    else:
        params[key] = str(value)
    if key != "pagina":
        params.pop("pagina", None)
    return params.urlencode()


@register.filter
def money(amount: Any) -> str:
    from decimal import Decimal

    if amount is None or amount == "":
        return ""
    return settings.COUNTRY_PACK.format_money(Decimal(str(amount)))


@register.filter
def number(value: Any) -> str:
    """An integer with the country's thousands separator (1.234.567 in BO and PY)."""
    try:
        return f"{int(value):,}".replace(",", settings.COUNTRY_PACK.thousands_separator)
    except (TypeError, ValueError):
        return str(value)


@register.filter
def percent_class(value: Any, maximum: Any = 100) -> str:
    """CSS width class (vt-w-0 … vt-w-100) for a bar, since the CSP forbids inline styles."""
    try:
        value_f, max_f = float(value), float(maximum)
    except (TypeError, ValueError):
        return "vt-w-0"
    if max_f <= 0:
        return "vt-w-0"
    return f"vt-w-{max(0, min(100, round(100 * value_f / max_f)))}"


@register.filter
def department_name(code: str) -> str:
    department = settings.COUNTRY_PACK.department(code) if code else None
    return department.name if department else (code or "")
