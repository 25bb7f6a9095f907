"""Short human tracking codes: no 0/O/1/I, grouped in fours, with a check character.

The check character uses the Damm algorithm over GF(32) (x∘y = 2·x + y, a totally anti-symmetric
quasigroup), so every single-character typo and every swap of two neighbours is detected.
Example: ``K7QF-3MZC-R``.
"""

from __future__ import annotations

import secrets

ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # 32 symbols, none confusable with another
_INDEX = {c: i for i, c in enumerate(ALPHABET)}
_POLY = 0b100101  # x^5 + x^2 + 1, irreducible over GF(2)


def _times_two(value: int) -> int:
    value <<= 1
    if value & 0b100000:
        value ^= _POLY
    return value


def _interim(symbols: str) -> int:
    state = 0
    for char in symbols:
        state = _times_two(state) ^ _INDEX[char]
    return state


def _check_char(body: str) -> str:
    # The check c makes the final state 0: 2·state + c = 0, i.e. c = 2·state in characteristic 2.
    return ALPHABET[_times_two(_interim(body))]


def new_tracking_code(length: int = 8) -> str:
    """A random code of ``length`` symbols plus one check symbol, formatted for reading aloud."""
    body = "".join(secrets.choice(ALPHABET) for _ in range(length))
    return format_code(body + _check_char(body))


def format_code(raw: str) -> str:
    body, check = raw[:-1], raw[-1]
    groups = [body[i : i + 4] for i in range(0, len(body), 4)]
    return "-".join([*groups, check])


def normalize_tracking_code(value: str) -> str | None:
    """Canonical form of what a person typed (case, spaces and hyphens ignored), or None if invalid."""
    raw = "".join(ch for ch in value.upper() if ch not in " -.")
    if len(raw) < 5 or any(ch not in _INDEX for ch in raw):
        return None
    if _interim(raw) != 0:
        return None
    return format_code(raw)
