"""Short human tracking codes: no 0/O/1/I, grouped in fours, with a check character (Luhn mod 32).

Example: ``K7QF-3MZC-R`` — a typo in any single character, or swapping two neighbours, is detected.
"""

from __future__ import annotations

import secrets

ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # 32 symbols, none confusable with another
_INDEX = {c: i for i, c in enumerate(ALPHABET)}
_N = len(ALPHABET)


def _check_char(body: str) -> str:
    total = 0
    factor = 2
    for char in reversed(body):
        addend = factor * _INDEX[char]
        factor = 1 if factor == 2 else 2
        total += addend // _N + addend % _N
    return ALPHABET[(_N - total % _N) % _N]


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
    if _check_char(raw[:-1]) != raw[-1]:
        return None
    return format_code(raw)
