"""Country packs: one per country Ventanilla can serve.

Usage (Django code)::

    from ventanilla.core.countries import get_pack
    pack = get_pack(settings.VENTANILLA_COUNTRY)

Adding a country means adding a module with a ``PACK`` and registering it in
``_PACKS`` below; nothing else in the code base should test the country code.
"""

from __future__ import annotations

import os

from . import bo, py
from .base import CountryPack, Department, DocumentType

ENV_VAR = "VENTANILLA_COUNTRY"
DEFAULT_COUNTRY = "BO"

_PACKS: dict[str, CountryPack] = {
    bo.PACK.code: bo.PACK,
    py.PACK.code: py.PACK,
}

AVAILABLE: tuple[str, ...] = ("BO", "PY")

__all__ = [
    "AVAILABLE",
    "DEFAULT_COUNTRY",
    "ENV_VAR",
    "CountryPack",
    "Department",
    "DocumentType",
    "get_pack",
]


def get_pack(code: str | None = None) -> CountryPack:
    """Return the country pack for ``code`` (case-insensitive).

    With ``code=None`` the ``VENTANILLA_COUNTRY`` environment variable is
    read; when it is unset or blank, Bolivia ("BO") is used.

    Raises ValueError for an unknown code, naming the available ones.
    """
    if code is None:
        code = os.environ.get(ENV_VAR, "").strip() or DEFAULT_COUNTRY
    key = str(code).strip().upper()
    try:
        return _PACKS[key]
    except KeyError:
        raise ValueError(
            f"País desconocido {code!r}: defina {ENV_VAR} con uno de: {', '.join(AVAILABLE)}"
        ) from None
