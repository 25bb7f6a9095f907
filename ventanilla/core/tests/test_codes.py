"""Tracking codes people read aloud and type back: format, uniqueness, typo detection."""

from __future__ import annotations

import re
import string

import pytest

from ventanilla.core.codes import ALPHABET, new_tracking_code, normalize_tracking_code

SYMBOL = "[2-9A-HJ-NP-Z]"
CODE_RE = re.compile(rf"^{SYMBOL}{{4}}-{SYMBOL}{{4}}-{SYMBOL}$")
CONFUSABLE = set("0O1I")


def _raw(code: str) -> str:
    return code.replace("-", "")


def _complete(body: str) -> str:
    """The one valid code for ``body``, found through the public API only (try every check symbol)."""
    valid = [body + c for c in ALPHABET if normalize_tracking_code(body + c) is not None]
    assert len(valid) == 1, f"exactly one check symbol must fit {body!r}, got {valid}"
    return valid[0]


def test_alphabet_is_32_unambiguous_symbols() -> None:
    assert len(ALPHABET) == 32
    assert len(set(ALPHABET)) == 32
    assert set(ALPHABET) == set(string.digits + string.ascii_uppercase) - CONFUSABLE


def test_new_codes_are_groups_of_four_plus_a_check_symbol() -> None:
    for _ in range(2000):
        code = new_tracking_code()
        assert CODE_RE.match(code), code
        assert not CONFUSABLE & set(code)
        assert normalize_tracking_code(code) == code


def test_longer_codes_keep_the_grouping() -> None:
    code = new_tracking_code(12)
    assert re.match(rf"^{SYMBOL}{{4}}-{SYMBOL}{{4}}-{SYMBOL}{{4}}-{SYMBOL}$", code), code
    assert normalize_tracking_code(code) == code


def test_ten_thousand_codes_are_unique() -> None:
    codes = [new_tracking_code() for _ in range(10_000)]
    assert len(set(codes)) == len(codes)


def test_normalize_accepts_what_people_type() -> None:
    code = new_tracking_code()
    raw = _raw(code)
    assert normalize_tracking_code(code.lower()) == code
    assert normalize_tracking_code(raw) == code
    assert normalize_tracking_code(raw.lower()) == code
    assert normalize_tracking_code(f"  {raw[:4]} {raw[4:8]} {raw[8]} ") == code
    assert normalize_tracking_code(" ".join(raw.lower())) == code
    assert normalize_tracking_code(f"{raw[:4]}.{raw[4:8]}.{raw[8]}") == code


@pytest.mark.parametrize("value", ["", "   ", "----", "ABC", "K7QF-3MZC-!", "K7QF-3MZC-RR-é"])
def test_normalize_rejects_garbage(value: str) -> None:
    assert normalize_tracking_code(value) is None


def test_normalize_rejects_confusable_symbols() -> None:
    raw = _raw(new_tracking_code())
    for position in range(len(raw)):
        for bad in CONFUSABLE | {"o", "i"}:
            assert normalize_tracking_code(raw[:position] + bad + raw[position + 1 :]) is None


@pytest.mark.parametrize("code", ["K7QF-3MZC", "2222-2222", "ZZZZ-ZZZZ", "ABCD-EFGH", None])
def test_every_single_symbol_substitution_is_detected(code: str | None) -> None:
    """Exhaustive over positions (check symbol included) and over the whole alphabet."""
    raw = _complete(code.replace("-", "")) if code else _raw(new_tracking_code())
    assert normalize_tracking_code(raw) is not None
    for position in range(len(raw)):
        for symbol in ALPHABET:
            if symbol == raw[position]:
                continue
            typo = raw[:position] + symbol + raw[position + 1 :]
            assert normalize_tracking_code(typo) is None, f"{raw} → {typo} was accepted"


def test_adjacent_transpositions_are_detected_in_a_code() -> None:
    raw = _complete("K7QF3MZC")
    assert normalize_tracking_code(raw) is not None
    swaps = 0
    for i in range(len(raw) - 1):
        if raw[i] == raw[i + 1]:
            continue
        swapped = raw[:i] + raw[i + 1] + raw[i] + raw[i + 2 :]
        assert normalize_tracking_code(swapped) is None, f"{raw} → {swapped} was accepted"
        swaps += 1
    assert swaps == len(raw) - 1


def test_every_adjacent_transposition_of_every_symbol_pair_is_detected() -> None:
    undetected = []
    for a in ALPHABET:
        for b in ALPHABET:
            if a == b:
                continue
            for position in (0, 3, 6):  # across a group boundary too (positions 3-4 straddle the hyphen)
                body = "K7QF3MZC"
                body = body[:position] + a + b + body[position + 2 :]
                raw = _complete(body)
                swapped = raw[:position] + b + a + raw[position + 2 :]
                if normalize_tracking_code(swapped) is not None:
                    undetected.append(f"{raw}→{swapped}")
    assert undetected == []
