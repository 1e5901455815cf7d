"""text/word_stats: word, sentence and top-word counts of a text."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any, Dict, FrozenSet, Mapping

from skillware.core.base_skill import BaseSkill, SkillwareParamValidationError

# Letters or digits, with inner apostrophes or hyphens: "don't", "well-known", "rock'n'roll".
_WORD = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*")
# A sentence ends at ., ! or ? (or …) followed by whitespace or the end, so "3.14" and
# "e.g.x" do not end one; CJK full stops end a sentence wherever they stand.
_SENTENCE_END = re.compile(r"[.!?…]+(?=\s|$)|[。！？]+")


@dataclass(frozen=True)
class Settings:
    """Parameters after defaults and checks: what the counting actually uses."""

    top: int = 10
    case_sensitive: bool = False
    stopwords: FrozenSet[str] = frozenset()
    min_length: int = 1
    include_numbers: bool = True


def read_settings(params: Mapping[str, Any]) -> Settings:
    """Settings from params, applying the manifest's defaults; raise on values it forbids."""
    top = params.get("top", 10)
    case_sensitive = params.get("case_sensitive", False)
    stopwords = params.get("stopwords", [])
    options = params.get("options", {})
    if not isinstance(options, dict):
        raise _invalid("'options' must be an object")
    min_length = options.get("min_length", 1)
    numbers = options.get("numbers", "include")
    if not _is_int(top) or not 1 <= top <= 100:
        raise _invalid("'top' must be an integer from 1 to 100")
    if not isinstance(case_sensitive, bool):
        raise _invalid("'case_sensitive' must be a boolean")
    if not isinstance(stopwords, list) or not all(isinstance(word, str) for word in stopwords):
        raise _invalid("'stopwords' must be an array of strings")
    if not _is_int(min_length) or not 1 <= min_length <= 100:
        raise _invalid("'options.min_length' must be an integer from 1 to 100")
    if numbers not in ("include", "exclude"):
        raise _invalid("'options.numbers' must be 'include' or 'exclude'")
    fold = (lambda word: word) if case_sensitive else str.lower
    return Settings(
        top=top,
        case_sensitive=case_sensitive,
        stopwords=frozenset(fold(word) for word in stopwords),
        min_length=min_length,
        include_numbers=numbers == "include",
    )


def word_stats(text: str, settings: Settings) -> Dict[str, Any]:
    """Counts for `text`: characters, words, sentences, and the most frequent counted words."""
    words = _WORD.findall(text)
    counted = [
        word if settings.case_sensitive else word.lower()
        for word in words
        if len(word) >= settings.min_length and (settings.include_numbers or not word.isdecimal())
    ]
    counted = [word for word in counted if word not in settings.stopwords]
    counts = Counter(counted)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[: settings.top]
    return {
        "characters": len(text),
        "words": len(words),
        "sentences": count_sentences(text),
        "counted_words": len(counted),
        "unique_words": len(counts),
        "top_words": [{"word": word, "count": count} for word, count in ranked],
    }


def count_sentences(text: str) -> int:
    """Pieces of text between sentence ends that hold at least one word."""
    return sum(1 for piece in _SENTENCE_END.split(text) if _WORD.search(piece))


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _invalid(message: str) -> SkillwareParamValidationError:
    return SkillwareParamValidationError(f"text/word_stats: {message}")


class WordStatsSkill(BaseSkill):
    """Counts words and sentences and ranks the most frequent words."""

    def execute(self, params: Dict[str, Any]) -> Dict[str, Any]:
        text = params.get("text") if isinstance(params, dict) else None
        if not isinstance(text, str):
            raise _invalid("'text' must be a string")
        return word_stats(text, read_settings(params))
