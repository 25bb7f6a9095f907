"""Spanish text normalisation used by search: accent folding and Snowball stemming."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import snowballstemmer

_WORD = re.compile(r"[a-z0-9ñ]+")

# Words that carry no meaning in a search (Snowball's Spanish stop list, reduced to the common ones).
STOPWORDS = frozenset(
    [
        "a",
        "al",
        "algo",
        "como",
        "con",
        "contra",
        "cual",
        "cuando",
        "de",
        "del",
        "desde",
        "donde",
        "durante",
        "e",
        "el",
        "ella",
        "ellas",
        "ellos",
        "en",
        "entre",
        "era",
        "es",
        "esa",
        "esas",
        "ese",
        "eso",
        "esos",
        "esta",
        "estas",
        "este",
        "esto",
        "estos",
        "fue",
        "ha",
        "hasta",
        "la",
        "las",
        "le",
        "les",
        "lo",
        "los",
        "mas",
        "me",
        "mi",
        "mis",
        "muy",
        "ni",
        "no",
        "nos",
        "o",
        "os",
        "para",
        "pero",
        "por",
        "que",
        "quien",
        "se",
        "sea",
        "ser",
        "si",
        "sin",
        "sobre",
        "su",
        "sus",
        "tambien",
        "te",
        "tu",
        "tus",
        "u",
        "un",
        "una",
        "uno",
        "unos",
        "unas",
        "y",
        "ya",
        "yo",
    ]
)


def fold(value: str) -> str:
    """Lowercase and strip accents (keeps ñ as n, like PostgreSQL's unaccent)."""
    decomposed = unicodedata.normalize("NFKD", value.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@lru_cache(maxsize=1)
def _stemmer() -> snowballstemmer.stemmer:
    return snowballstemmer.stemmer("spanish")


def words(value: str) -> list[str]:
    return [w for w in _WORD.findall(fold(value)) if w not in STOPWORDS]


@lru_cache(maxsize=50_000)
def stem(word: str) -> str:
    return str(_stemmer().stemWord(word))


def stems(value: str) -> list[str]:
    return [stem(w) for w in words(value)]
