"""reference/country_info: look a country up by ISO 3166-1 code or name in the bundled data."""

from __future__ import annotations

import json
import re
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from skillware.core.base_skill import BaseSkill, SkillwareParamValidationError

# Located from this file, never from the working directory: the bundle may be mounted
# read-only anywhere (e.g. /skill in a container), and the data is only ever read.
DATA_FILE = Path(__file__).resolve().parent / "data" / "countries.json"

_PUBLIC_FIELDS = ("name", "alpha2", "alpha3", "capital", "calling_code", "currencies", "region")
_MAX_SUGGESTIONS = 5


@lru_cache(maxsize=1)
def load_countries() -> Tuple[Dict[str, Any], ...]:
    """The country records of data/countries.json, read once per process."""
    with DATA_FILE.open(encoding="utf-8") as handle:
        document = json.load(handle)
    return tuple(document["countries"])


def normalise_name(name: str) -> str:
    """Case-, accent- and punctuation-insensitive form of a name: 'Türkiye' -> 'turkiye'."""
    decomposed = unicodedata.normalize("NFKD", name)
    stripped = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(re.sub(r"[\W_]+", " ", stripped.casefold()).split())


def find_country(query: str) -> Tuple[Optional[Dict[str, Any]], Optional[str]]:
    """The country a query names and how it matched (alpha2, alpha3, name, alias), or (None, None)."""
    code = query.strip().upper()
    countries = load_countries()
    field = {2: "alpha2", 3: "alpha3"}.get(len(code))
    if field is not None:
        match = next((country for country in countries if country[field] == code), None)
        if match is not None:
            return match, field
    wanted = normalise_name(query)
    for country in countries:
        if normalise_name(country["name"]) == wanted:
            return country, "name"
    for country in countries:
        if any(normalise_name(alias) == wanted for alias in country["aliases"]):
            return country, "alias"
    return None, None


def suggest(query: str) -> List[str]:
    """Names of up to five countries whose name or alias contains the query, alphabetically."""
    wanted = normalise_name(query)
    if not wanted:
        return []
    names = {
        country["name"]
        for country in load_countries()
        if any(wanted in normalise_name(label) for label in [country["name"], *country["aliases"]])
    }
    return sorted(names)[:_MAX_SUGGESTIONS]


class CountryInfoSkill(BaseSkill):
    """Returns a country's codes, capital, calling code, currencies and region."""

    def execute(self, params: Dict[str, Any]) -> Dict[str, Any]:
        query = params.get("query") if isinstance(params, dict) else None
        if not isinstance(query, str) or not query.strip():
            raise SkillwareParamValidationError("reference/country_info needs 'query' as a non-empty string")
        country, matched_by = find_country(query)
        return {
            "query": query,
            "found": country is not None,
            "matched_by": matched_by,
            "country": {key: country[key] for key in _PUBLIC_FIELDS} if country is not None else None,
            "suggestions": [] if country is not None else suggest(query),
        }
