"""How words meet: tag keys, and the stemmed words full-text search indexes and asks for."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import snowballstemmer

_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "æ": "ae", "ø": "oe"})
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_SEPARATORS = re.compile(r"[\s\-_/.·]+")


def clean_tag_name(raw: str) -> str:
    """The spelling shown: trimmed, inner spaces collapsed, first letter kept as typed."""
    return " ".join(unicodedata.normalize("NFC", raw or "").split())


def tag_key(name: str) -> str:
    """What makes two spellings one tag: case, spaces, hyphens and umlaut spellings do not count.

    "Zeitmanagement", "zeit management", "ZEIT-MANAGEMENT" share a key; "Zeitmanagment"
    (a different word) does not. "Führung" and "Fuehrung" meet.
    """
    text = unicodedata.normalize("NFC", name or "").casefold().translate(_UMLAUTS)
    text = _SEPARATORS.sub("", text)
    # remaining accents (é, ñ …) fold to their base letter
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return text


@lru_cache(maxsize=2)
def _stemmer(language: str):
    return snowballstemmer.stemmer(language)


def _fold(word: str) -> str:
    word = word.casefold().translate(_UMLAUTS)
    return "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c))


@lru_cache(maxsize=65536)
def word_stems(word: str) -> tuple[str, ...]:
    """One word's German and English stems, folded (ä→ae …), without repeats."""
    lowered = word.casefold()
    found = (
        _fold(_stemmer("german").stemWord(lowered)),
        _fold(_stemmer("english").stemWord(lowered)),
    )
    return tuple(dict.fromkeys(s for s in found if s))


def stems(text: str) -> list[str]:
    """Each word of `text` as its German and its English stem (both, since profiles mix)."""
    out: dict[str, None] = {}
    for word in _WORD.findall(text or ""):
        out.update(dict.fromkeys(word_stems(word)))
    return list(out)


def search_document(*parts: str) -> str:
    """The text the directory indexes: stems of every part, space separated."""
    return " ".join(stems(" ".join(p for p in parts if p)))


def query_terms(text: str, limit: int = 8) -> list[list[str]]:
    """A search box's words, each as its possible stems (any of them may match)."""
    terms = [sorted(word_stems(word)) for word in _WORD.findall(text or "")[:limit]]
    return [t for t in terms if t]
