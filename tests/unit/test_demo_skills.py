"""The demo skills under skillware/skills, run directly against hand-computed answers.

Each skill is imported from its own skill.py the way the loader does it: the bundle folder
is on sys.path while the skill is imported and run, and is removed afterwards together
with every module that was imported from it. Every result is checked against the
manifest's `output` schema.
"""

from __future__ import annotations

import builtins
import importlib.util
import inspect
import io
import json
import sys
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List

import pytest
import yaml
from jsonschema import Draft202012Validator

from skillware.core.base_skill import BaseSkill, SkillwareParamValidationError

SKILLS_ROOT = Path(__file__).resolve().parents[2] / "skillware" / "skills"
DEMO_SKILLS = ["compliance/example_skill", "reference/country_info", "text/word_stats"]

LoadSkill = Callable[[str], BaseSkill]


def read_manifest(skill_id: str) -> Dict[str, Any]:
    with (SKILLS_ROOT / skill_id / "manifest.yaml").open(encoding="utf-8") as handle:
        manifest: Dict[str, Any] = yaml.safe_load(handle)
    return manifest


def _is_inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


@pytest.fixture
def load_skill() -> Iterator[LoadSkill]:
    """Import a bundle's skill.py with the bundle on sys.path; undo both at teardown."""
    bundles: List[Path] = []
    module_names: List[str] = []

    def load(skill_id: str) -> BaseSkill:
        bundle = (SKILLS_ROOT / skill_id).resolve()
        bundles.append(bundle)
        sys.path.insert(0, str(bundle))
        module_name = "_demo_skill_" + skill_id.replace("/", "__")
        module_names.append(module_name)
        spec = importlib.util.spec_from_file_location(module_name, bundle / "skill.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
        classes = [
            value
            for value in vars(module).values()
            if inspect.isclass(value) and issubclass(value, BaseSkill) and value is not BaseSkill
        ]
        assert len(classes) == 1, f"{skill_id}/skill.py must define exactly one BaseSkill subclass"
        return classes[0](config={})

    yield load

    for bundle in bundles:
        while str(bundle) in sys.path:
            sys.path.remove(str(bundle))
        for name, module in list(sys.modules.items()):
            file = getattr(module, "__file__", None)
            if file and _is_inside(Path(file).resolve(), bundle):
                del sys.modules[name]
    for name in module_names:
        sys.modules.pop(name, None)


def run(skill: BaseSkill, skill_id: str, params: Dict[str, Any]) -> Any:
    """Execute with params the manifest accepts; the result must match the output schema."""
    manifest = read_manifest(skill_id)
    Draft202012Validator(manifest["parameters"]).validate(params)
    result = skill.execute(params)
    Draft202012Validator(manifest["output"]).validate(result)
    json.dumps(result)  # JSON-serialisable, as the host contract requires
    return result


# --- every demo skill -----------------------------------------------------------------


@pytest.mark.parametrize("skill_id", DEMO_SKILLS)
def test_manifest_parameters_and_output_are_valid_schemas(skill_id: str) -> None:
    manifest = read_manifest(skill_id)
    Draft202012Validator.check_schema(manifest["parameters"])
    Draft202012Validator.check_schema(manifest["output"])
    assert manifest["name"] == skill_id
    assert manifest["category"] == skill_id.split("/")[0]
    assert manifest["execution"] == "in_process"
    assert manifest["short_description"] and manifest["description"]


@pytest.mark.parametrize("skill_id", DEMO_SKILLS)
def test_bundle_has_card_and_instructions(skill_id: str) -> None:
    bundle = SKILLS_ROOT / skill_id
    card = json.loads((bundle / "card.json").read_text(encoding="utf-8"))
    assert set(card) == {"title", "description", "icon"}
    assert all(isinstance(value, str) and value for value in card.values())
    assert skill_id in (bundle / "instructions.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("skill_id", "params"),
    [
        ("compliance/example_skill", {"text": "mail a@b.io"}),
        ("reference/country_info", {"query": "FR"}),
        ("text/word_stats", {"text": "one two two"}),
    ],
)
def test_skill_imports_and_runs_without_pyyaml(
    load_skill: LoadSkill, monkeypatch: pytest.MonkeyPatch, skill_id: str, params: Dict[str, Any]
) -> None:
    monkeypatch.setitem(sys.modules, "yaml", None)  # `import yaml` now raises ImportError
    skill = load_skill(skill_id)
    assert skill.execute(params)


# --- compliance/example_skill -----------------------------------------------------------

PII = "compliance/example_skill"


def scan(load_skill: LoadSkill, text: str) -> Dict[str, Any]:
    result: Dict[str, Any] = run(load_skill(PII), PII, {"text": text})
    previous_end = 0
    for finding in result["findings"]:
        assert text[finding["start"] : finding["end"]] == finding["value"]
        assert finding["start"] >= previous_end, "findings must be sorted and must not overlap"
        previous_end = finding["end"]
    return result


def test_pii_skill_imports_its_helper_module_without_touching_sys_path() -> None:
    source = (SKILLS_ROOT / PII / "skill.py").read_text(encoding="utf-8")
    assert "from detectors import find_pii" in source
    assert "sys.path" not in source
    assert "yaml" not in source and "manifest" not in source


def test_phone_after_word_has_exact_span(load_skill: LoadSkill) -> None:
    result = scan(load_skill, "call +44 20 7946 0958")
    assert result == {
        "findings": [{"type": "phone", "start": 5, "end": 21, "value": "+44 20 7946 0958"}],
        "redacted": "call [PHONE]",
    }


def test_valid_iban_in_groups_of_four_is_found(load_skill: LoadSkill) -> None:
    result = scan(load_skill, "IBAN: GB82 WEST 1234 5698 7654 32.")
    assert result == {
        "findings": [{"type": "iban", "start": 6, "end": 33, "value": "GB82 WEST 1234 5698 7654 32"}],
        "redacted": "IBAN: [IBAN].",
    }


def test_compact_iban_is_found(load_skill: LoadSkill) -> None:
    result = scan(load_skill, "Pay DE89370400440532013000 now")
    assert result["findings"] == [{"type": "iban", "start": 4, "end": 26, "value": "DE89370400440532013000"}]
    assert result["redacted"] == "Pay [IBAN] now"


def test_iban_with_one_digit_changed_is_not_found(load_skill: LoadSkill) -> None:
    text = "IBAN: GB82 WEST 1234 5698 7654 33."
    assert scan(load_skill, text) == {"findings": [], "redacted": text}


def test_digits_of_a_bad_iban_are_not_reported_as_a_phone(load_skill: LoadSkill) -> None:
    # "0044 0532 0130 01" alone would be a national phone number with a trunk 0.
    text = "DE89 3704 0044 0532 0130 01"
    assert scan(load_skill, text) == {"findings": [], "redacted": text}


def test_iban_takes_precedence_over_phone(load_skill: LoadSkill) -> None:
    result = scan(load_skill, "DE89 3704 0044 0532 0130 00")
    assert result["findings"] == [{"type": "iban", "start": 0, "end": 27, "value": "DE89 3704 0044 0532 0130 00"}]
    assert result["redacted"] == "[IBAN]"


def test_luhn_valid_card_is_found(load_skill: LoadSkill) -> None:
    result = scan(load_skill, "card 4111 1111 1111 1111 exp")
    assert result == {
        "findings": [{"type": "card", "start": 5, "end": 24, "value": "4111 1111 1111 1111"}],
        "redacted": "card [CARD] exp",
    }


def test_card_with_dashes_and_amex_grouping_are_found(load_skill: LoadSkill) -> None:
    result = scan(load_skill, "4111-1111-1111-1111 / 3782 822463 10005")
    assert result["findings"] == [
        {"type": "card", "start": 0, "end": 19, "value": "4111-1111-1111-1111"},
        {"type": "card", "start": 22, "end": 39, "value": "3782 822463 10005"},
    ]
    assert result["redacted"] == "[CARD] / [CARD]"


def test_luhn_invalid_card_is_not_found(load_skill: LoadSkill) -> None:
    text = "card 4111 1111 1111 1112 exp"
    assert scan(load_skill, text) == {"findings": [], "redacted": text}


def test_luhn_invalid_card_is_not_reported_as_a_phone(load_skill: LoadSkill) -> None:
    # 4-6-5 card grouping that also reads as a 15-digit national number with a trunk 0.
    text = "card 0123 456789 01234"
    assert scan(load_skill, text) == {"findings": [], "redacted": text}


def test_card_takes_precedence_over_phone(load_skill: LoadSkill) -> None:
    result = scan(load_skill, "card 0123 456789 01237")
    assert result["findings"] == [{"type": "card", "start": 5, "end": 22, "value": "0123 456789 01237"}]
    assert result["redacted"] == "card [CARD]"


def test_phone_directly_followed_by_card_yields_both(load_skill: LoadSkill) -> None:
    result = scan(load_skill, "+44 20 7946 0958 4111 1111 1111 1111")
    assert result["findings"] == [
        {"type": "phone", "start": 0, "end": 16, "value": "+44 20 7946 0958"},
        {"type": "card", "start": 17, "end": 36, "value": "4111 1111 1111 1111"},
    ]
    assert result["redacted"] == "[PHONE] [CARD]"


def test_email_is_found(load_skill: LoadSkill) -> None:
    result = scan(load_skill, "Contact jane.doe+news@example.co.uk today")
    assert result == {
        "findings": [{"type": "email", "start": 8, "end": 35, "value": "jane.doe+news@example.co.uk"}],
        "redacted": "Contact [EMAIL] today",
    }


def test_national_phone_formats_are_found(load_skill: LoadSkill) -> None:
    result = scan(load_skill, "Tel: (555) 123-4567. Ring 020 7946 0958 now")
    assert result["findings"] == [
        {"type": "phone", "start": 5, "end": 19, "value": "(555) 123-4567"},
        {"type": "phone", "start": 26, "end": 39, "value": "020 7946 0958"},
    ]
    assert result["redacted"] == "Tel: [PHONE]. Ring [PHONE] now"


def test_plain_numbers_dates_and_times_are_not_phones(load_skill: LoadSkill) -> None:
    text = "order 1234567, open 0900-1700 on 01-02-2024, version 1.2.3, host 192.168.100.200"
    assert scan(load_skill, text) == {"findings": [], "redacted": text}


def test_text_without_pii_is_returned_unchanged(load_skill: LoadSkill) -> None:
    text = "Nothing to see here: the meeting is on Tuesday."
    assert scan(load_skill, text) == {"findings": [], "redacted": text}


def test_empty_text_gives_no_findings(load_skill: LoadSkill) -> None:
    assert scan(load_skill, "") == {"findings": [], "redacted": ""}


def test_unicode_before_a_finding_keeps_code_point_offsets(load_skill: LoadSkill) -> None:
    text = "Gr\u00fc\u00dfe \U0001f642 von Zo\u00eb: zoe@example.org"
    result = scan(load_skill, text)
    assert result["findings"] == [{"type": "email", "start": 17, "end": 32, "value": "zoe@example.org"}]
    assert result["redacted"] == "Gr\u00fc\u00dfe \U0001f642 von Zo\u00eb: [EMAIL]"


def test_astral_characters_before_a_phone_count_as_one_each(load_skill: LoadSkill) -> None:
    result = scan(load_skill, "\U0001f642\U0001f642 +44 20 7946 0958")
    assert result["findings"] == [{"type": "phone", "start": 3, "end": 19, "value": "+44 20 7946 0958"}]


def test_mixed_findings_are_sorted_and_redacted(load_skill: LoadSkill) -> None:
    result = scan(load_skill, "Mail a@b.io or call (555) 123-4567; card 4111-1111-1111-1111.")
    assert result["findings"] == [
        {"type": "email", "start": 5, "end": 11, "value": "a@b.io"},
        {"type": "phone", "start": 20, "end": 34, "value": "(555) 123-4567"},
        {"type": "card", "start": 41, "end": 60, "value": "4111-1111-1111-1111"},
    ]
    assert result["redacted"] == "Mail [EMAIL] or call [PHONE]; card [CARD]."


def test_pii_skill_refuses_text_that_is_not_a_string(load_skill: LoadSkill) -> None:
    with pytest.raises(SkillwareParamValidationError):
        load_skill(PII).execute({"text": 42})


# --- reference/country_info -----------------------------------------------------------

COUNTRY = "reference/country_info"

UNITED_KINGDOM = {
    "name": "United Kingdom",
    "alpha2": "GB",
    "alpha3": "GBR",
    "capital": "London",
    "calling_code": "+44",
    "currencies": ["GBP"],
    "region": "Europe",
}


def test_lookup_by_alpha2_code_ignores_case(load_skill: LoadSkill) -> None:
    result = run(load_skill(COUNTRY), COUNTRY, {"query": "gb"})
    assert result == {
        "query": "gb",
        "found": True,
        "matched_by": "alpha2",
        "country": UNITED_KINGDOM,
        "suggestions": [],
    }


@pytest.mark.parametrize(
    ("query", "matched_by"),
    [("GBR", "alpha3"), ("United Kingdom", "name"), ("  united kingdom ", "name"), ("UK", "alias")],
)
def test_lookup_by_alpha3_name_and_alias(load_skill: LoadSkill, query: str, matched_by: str) -> None:
    result = run(load_skill(COUNTRY), COUNTRY, {"query": query})
    assert (result["found"], result["matched_by"], result["country"]) == (True, matched_by, UNITED_KINGDOM)


@pytest.mark.parametrize(("query", "matched_by"), [("turkiye", "name"), ("T\u00fcrkiye", "name"), ("Turkey", "alias")])
def test_name_lookup_ignores_accents(load_skill: LoadSkill, query: str, matched_by: str) -> None:
    result = run(load_skill(COUNTRY), COUNTRY, {"query": query})
    assert result["matched_by"] == matched_by
    assert result["country"] == {
        "name": "T\u00fcrkiye",
        "alpha2": "TR",
        "alpha3": "TUR",
        "capital": "Ankara",
        "calling_code": "+90",
        "currencies": ["TRY"],
        "region": "Asia",
    }


@pytest.mark.parametrize(
    ("query", "capital", "calling_code", "currencies"),
    [
        ("JP", "Tokyo", "+81", ["JPY"]),
        ("CHE", "Bern", "+41", ["CHF"]),
        ("India", "New Delhi", "+91", ["INR"]),
        ("BR", "Bras\u00edlia", "+55", ["BRL"]),
        ("usa", "Washington, D.C.", "+1", ["USD"]),
    ],
)
def test_country_facts(
    load_skill: LoadSkill, query: str, capital: str, calling_code: str, currencies: List[str]
) -> None:
    country = run(load_skill(COUNTRY), COUNTRY, {"query": query})["country"]
    assert (country["capital"], country["calling_code"], country["currencies"]) == (capital, calling_code, currencies)


def test_unknown_country_returns_null_and_suggestions(load_skill: LoadSkill) -> None:
    skill = load_skill(COUNTRY)
    assert run(skill, COUNTRY, {"query": "united"}) == {
        "query": "united",
        "found": False,
        "matched_by": None,
        "country": None,
        "suggestions": ["United Arab Emirates", "United Kingdom", "United States"],
    }
    assert run(skill, COUNTRY, {"query": "Atlantis"})["suggestions"] == []


def test_country_data_is_read_relative_to_the_skill_and_only_read(
    load_skill: LoadSkill, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    modes: List[str] = []
    real_open = io.open

    def recording_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        modes.append(mode)
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.chdir(tmp_path)
    skill = load_skill(COUNTRY)
    monkeypatch.setattr(io, "open", recording_open)
    monkeypatch.setattr(builtins, "open", recording_open)
    assert run(skill, COUNTRY, {"query": "NZ"})["country"]["capital"] == "Wellington"
    assert modes and all(set(mode) <= {"r", "b", "t"} for mode in modes)


def test_country_dataset_is_well_formed() -> None:
    document = json.loads((SKILLS_ROOT / COUNTRY / "data" / "countries.json").read_text(encoding="utf-8"))
    countries = document["countries"]
    assert len(countries) >= 30
    assert len({c["alpha2"] for c in countries}) == len(countries)
    assert len({c["alpha3"] for c in countries}) == len(countries)
    assert len({c["name"] for c in countries}) == len(countries)


def test_country_skill_refuses_a_blank_query(load_skill: LoadSkill) -> None:
    with pytest.raises(SkillwareParamValidationError):
        load_skill(COUNTRY).execute({"query": "   "})


# --- text/word_stats ------------------------------------------------------------------

WORDS = "text/word_stats"
STORY = "The cat sat. The cat ran! A dog? the end"


def test_word_stats_with_defaults(load_skill: LoadSkill) -> None:
    assert run(load_skill(WORDS), WORDS, {"text": STORY}) == {
        "characters": 40,
        "words": 10,
        "sentences": 4,
        "counted_words": 10,
        "unique_words": 7,
        "top_words": [
            {"word": "the", "count": 3},
            {"word": "cat", "count": 2},
            {"word": "a", "count": 1},
            {"word": "dog", "count": 1},
            {"word": "end", "count": 1},
            {"word": "ran", "count": 1},
            {"word": "sat", "count": 1},
        ],
    }


def test_stopwords_min_length_and_top_filter_the_ranking(load_skill: LoadSkill) -> None:
    params = {"text": STORY, "top": 2, "stopwords": ["THE", "a"], "options": {"min_length": 3}}
    assert run(load_skill(WORDS), WORDS, params) == {
        "characters": 40,
        "words": 10,
        "sentences": 4,
        "counted_words": 6,
        "unique_words": 5,
        "top_words": [{"word": "cat", "count": 2}, {"word": "dog", "count": 1}],
    }


def test_case_sensitive_counts_and_ties_in_code_point_order(load_skill: LoadSkill) -> None:
    result = run(load_skill(WORDS), WORDS, {"text": STORY, "case_sensitive": True, "top": 3})
    assert (result["counted_words"], result["unique_words"]) == (10, 8)
    assert result["top_words"] == [
        {"word": "The", "count": 2},
        {"word": "cat", "count": 2},
        {"word": "A", "count": 1},
    ]


def test_case_sensitive_stopwords_match_exactly(load_skill: LoadSkill) -> None:
    result = run(load_skill(WORDS), WORDS, {"text": STORY, "case_sensitive": True, "stopwords": ["the"]})
    assert (result["counted_words"], result["unique_words"]) == (9, 7)


def test_numbers_can_be_excluded(load_skill: LoadSkill) -> None:
    params = {"text": "Call 555 now, 3 times. 2nd try", "options": {"numbers": "exclude"}}
    assert run(load_skill(WORDS), WORDS, params) == {
        "characters": 30,
        "words": 7,
        "sentences": 2,
        "counted_words": 5,
        "unique_words": 5,
        "top_words": [
            {"word": "2nd", "count": 1},
            {"word": "call", "count": 1},
            {"word": "now", "count": 1},
            {"word": "times", "count": 1},
            {"word": "try", "count": 1},
        ],
    }


def test_apostrophes_and_hyphens_stay_inside_words(load_skill: LoadSkill) -> None:
    result = run(load_skill(WORDS), WORDS, {"text": "Don't stop: well-known rock\u2019n\u2019roll."})
    assert (result["words"], result["sentences"]) == (4, 1)
    assert [entry["word"] for entry in result["top_words"]] == ["don't", "rock\u2019n\u2019roll", "stop", "well-known"]


def test_decimal_point_does_not_end_a_sentence(load_skill: LoadSkill) -> None:
    result = run(load_skill(WORDS), WORDS, {"text": "Pi is 3.14. Really?! Yes"})
    assert (result["words"], result["sentences"]) == (6, 3)


def test_unicode_words_rank_by_code_point(load_skill: LoadSkill) -> None:
    result = run(load_skill(WORDS), WORDS, {"text": "\u00c7a va? \u00c7a va tr\u00e8s bien."})
    assert (result["characters"], result["words"], result["sentences"]) == (23, 6, 2)
    assert result["top_words"] == [
        {"word": "va", "count": 2},
        {"word": "\u00e7a", "count": 2},
        {"word": "bien", "count": 1},
        {"word": "tr\u00e8s", "count": 1},
    ]


def test_top_defaults_to_ten(load_skill: LoadSkill) -> None:
    result = run(load_skill(WORDS), WORDS, {"text": "l k j i h g f e d c b a"})
    assert [entry["word"] for entry in result["top_words"]] == list("abcdefghij")


def test_empty_text_counts_nothing(load_skill: LoadSkill) -> None:
    assert run(load_skill(WORDS), WORDS, {"text": ""}) == {
        "characters": 0,
        "words": 0,
        "sentences": 0,
        "counted_words": 0,
        "unique_words": 0,
        "top_words": [],
    }


@pytest.mark.parametrize(
    "params",
    [
        {"text": "x", "top": 0},
        {"text": "x", "top": 101},
        {"text": "x", "top": True},
        {"text": "x", "case_sensitive": "yes"},
        {"text": "x", "stopwords": "the"},
        {"text": "x", "options": {"min_length": 0}},
        {"text": "x", "options": {"numbers": "only"}},
        {"text": None},
    ],
)
def test_word_stats_refuses_values_the_manifest_forbids(load_skill: LoadSkill, params: Dict[str, Any]) -> None:
    assert not Draft202012Validator(read_manifest(WORDS)["parameters"]).is_valid(params)
    with pytest.raises(SkillwareParamValidationError):
        load_skill(WORDS).execute(params)
