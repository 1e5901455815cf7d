"""PII detectors: e-mail addresses, IBANs, payment card numbers and phone numbers.

Standard library only: this module also runs in containers that hold nothing else.

Detectors run in precedence order — e-mail, IBAN, card, phone — and each one masks the
spans it claimed before the next one scans, so findings never overlap. An IBAN-shaped or
card-shaped token whose checksum fails is not a finding, but it is still claimed: the
digits inside a mistyped IBAN or card number are never re-reported as a phone number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Sequence, Tuple, Union

Span = Tuple[int, int]

PLACEHOLDERS = {"email": "[EMAIL]", "phone": "[PHONE]", "iban": "[IBAN]", "card": "[CARD]"}

# Claimed spans are overwritten with a letter before later detectors scan: a letter keeps
# word boundaries where they were, so nothing can start or end inside a claimed token.
_MASK = "x"

_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+-])"
    r"[A-Za-z0-9_%+-]+(?:\.[A-Za-z0-9_%+-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
    r"(?![A-Za-z0-9-])"
)

# Electronic form (no spaces) or print form (groups of four, last group shorter).
_IBAN = re.compile(
    r"(?<![A-Za-z0-9])[A-Za-z]{2}[0-9]{2}"
    r"(?:[A-Za-z0-9]{11,30}|(?: [A-Za-z0-9]{4}){2,7}(?: [A-Za-z0-9]{1,3})?)"
    r"(?![A-Za-z0-9])"
)

# Total IBAN length per country (SWIFT IBAN registry, ISO 13616). A country missing here
# is still accepted at 15-34 characters, so a newly registered country is not silently missed.
IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28,
    "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23,
    "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26,
    "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20,
    "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30,
    "NL": 18, "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22,
    "SA": 24, "SC": 31, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28, "TL": 23,
    "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}

# A run of digit groups joined by one consistent separator; card numbers are looked for
# inside it, so "+44 20 7946 0958 4111 1111 1111 1111" still yields the card.
_DIGIT_RUN = re.compile(
    r"(?<![A-Za-z0-9+])[0-9]+(?:(?P<sep>[ -])[0-9]+(?:(?P=sep)[0-9]+)*)?(?![A-Za-z0-9])"
)
_GROUP = re.compile(r"[0-9]+")
_MAX_CARD_GROUPS = 5

_PHONE = re.compile(
    r"(?<![A-Za-z0-9+])(?<![0-9][.-])"
    r"(?:"
    r"(?P<intl>\+[0-9]+(?:[ .-]?\([0-9]{1,4}\)[ .-]?[0-9]+)?(?:[ .-][0-9]+)*)"
    r"|(?P<nanp>(?:\([0-9]{3}\) ?|[0-9]{3}[ .-])[0-9]{3}[ .-][0-9]{4})"
    r"|(?P<trunk>(?:\(0[0-9]{1,4}\)|0[0-9]{1,4})(?:[ -][0-9]{2,8}){1,4})"
    r")"
    r"(?![A-Za-z0-9])(?![.-][0-9])"
)

# Digits a phone number must have, by format: E.164 allows at most 15; a national number
# written with a trunk 0 needs 9, so clock ranges and dates ("0900-1700") are not phones.
_PHONE_DIGITS = {"intl": (7, 15), "nanp": (10, 10), "trunk": (9, 15)}


@dataclass(frozen=True)
class Finding:
    """One piece of PII: its type and its span, so that text[start:end] == value."""

    type: str
    start: int
    end: int
    value: str

    def to_dict(self) -> Dict[str, Union[str, int]]:
        return {"type": self.type, "start": self.start, "end": self.end, "value": self.value}


def iban_is_valid(iban: str) -> bool:
    """True when a compact IBAN (no spaces) has its country's length and passes ISO 7064 mod-97."""
    compact = iban.upper()
    if not 15 <= len(compact) <= 34 or not compact.isascii() or not compact.isalnum():
        return False
    if IBAN_LENGTHS.get(compact[:2], len(compact)) != len(compact):
        return False
    if not (compact[:2].isalpha() and compact[2:4].isdigit()) or compact[2:4] in ("00", "01", "99"):
        return False  # mod-97 check digits are always 02..98
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1


def luhn_is_valid(digits: str) -> bool:
    """True when a string of ASCII digits passes the Luhn checksum."""
    if not digits or not digits.isascii() or not digits.isdigit():
        return False
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = ord(char) - ord("0")
        if index % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def find_pii(text: str) -> List[Finding]:
    """Every e-mail, IBAN, card and phone finding in `text`, sorted by start, non-overlapping."""
    findings = [Finding("email", m.start(), m.end(), m.group()) for m in _EMAIL.finditer(text)]
    working = _mask(text, [(f.start, f.end) for f in findings])
    for scan in (_scan_ibans, _scan_cards, _scan_phones):
        found, claimed = scan(working)
        findings += [Finding(kind, start, end, text[start:end]) for kind, start, end in found]
        working = _mask(working, claimed)
    return sorted(findings, key=lambda f: f.start)


def redact(text: str, findings: Sequence[Finding]) -> str:
    """`text` with each finding replaced by its placeholder ([EMAIL], [PHONE], [IBAN], [CARD])."""
    pieces: List[str] = []
    position = 0
    for finding in sorted(findings, key=lambda f: f.start):
        pieces += [text[position : finding.start], PLACEHOLDERS[finding.type]]
        position = finding.end
    pieces.append(text[position:])
    return "".join(pieces)


_Scan = Tuple[List[Tuple[str, int, int]], List[Span]]


def _scan_ibans(text: str) -> _Scan:
    found: List[Tuple[str, int, int]] = []
    claimed: List[Span] = []
    for match in _IBAN.finditer(text):
        # Print form may have swallowed a following group of four ("... 7654 32 1234"):
        # try each group boundary, longest first.
        value = match.group()
        ends = [index for index, char in enumerate(value) if char == " "] + [len(value)]
        valid = next((end for end in reversed(ends) if iban_is_valid(value[:end].replace(" ", ""))), None)
        if valid is None:
            claimed.append(match.span())
        else:
            found.append(("iban", match.start(), match.start() + valid))
            claimed.append((match.start(), match.start() + valid))
    return found, claimed


def _scan_cards(text: str) -> _Scan:
    found: List[Tuple[str, int, int]] = []
    claimed: List[Span] = []
    for run in _DIGIT_RUN.finditer(text):
        groups = [(run.start() + g.start(), run.start() + g.end()) for g in _GROUP.finditer(run.group())]
        if sum(end - start for start, end in groups) < 13:
            continue
        # Leftmost-longest Luhn-valid windows are cards; in the groups between them, the
        # longest card-shaped prefix is a mistyped card and is claimed, not reported.
        segment, index = 0, 0
        while index < len(groups):
            stop = _valid_card_window(text, groups, index)
            if stop is None:
                index += 1
                continue
            claimed += _card_shaped_prefix(groups[segment:index])
            found.append(("card", groups[index][0], groups[stop - 1][1]))
            claimed.append((groups[index][0], groups[stop - 1][1]))
            segment = index = stop
        claimed += _card_shaped_prefix(groups[segment:])
    return found, claimed


def _valid_card_window(text: str, groups: Sequence[Span], first: int) -> Optional[int]:
    """The largest stop such that groups[first:stop] is card-shaped and Luhn-valid, if any."""
    for stop in range(min(len(groups), first + _MAX_CARD_GROUPS), first, -1):
        window = groups[first:stop]
        if _card_layout([end - start for start, end in window]):
            if luhn_is_valid("".join(text[start:end] for start, end in window)):
                return stop
    return None


def _card_shaped_prefix(groups: Sequence[Span]) -> List[Span]:
    """The span of the longest leading groups that look like a card number, if any."""
    for stop in range(min(len(groups), _MAX_CARD_GROUPS), 0, -1):
        if _card_layout([end - start for start, end in groups[:stop]]):
            return [(groups[0][0], groups[stop - 1][1])]
    return []


def _card_layout(lengths: Sequence[int]) -> bool:
    """True for 13-19 digits printed as one run, 4-4-4-…(last 1-4), or 4-6-4 / 4-6-5."""
    if not 13 <= sum(lengths) <= 19:
        return False
    if len(lengths) == 1:
        return True
    if lengths[0] != 4:
        return False
    if lengths[1] == 6:
        return len(lengths) == 3 and lengths[2] in (4, 5)
    return all(n == 4 for n in lengths[1:-1]) and 1 <= lengths[-1] <= 4


def _scan_phones(text: str) -> _Scan:
    found: List[Tuple[str, int, int]] = []
    for match in _PHONE.finditer(text):
        kind = next(name for name in _PHONE_DIGITS if match.group(name) is not None)
        value = match.group()
        digits = sum(char.isdigit() for char in value) - value.count("(0)")  # "+44 (0)20": the 0 is not dialled
        low, high = _PHONE_DIGITS[kind]
        if low <= digits <= high:
            found.append(("phone", match.start(), match.end()))
    return found, [(start, end) for _, start, end in found]


def _mask(text: str, spans: Iterable[Span]) -> str:
    """`text` with every span overwritten by _MASK (same length, so offsets still hold)."""
    pieces: List[str] = []
    position = 0
    for start, end in sorted(spans):
        pieces += [text[position:start], _MASK * (end - start)]
        position = end
    pieces.append(text[position:])
    return "".join(pieces)
