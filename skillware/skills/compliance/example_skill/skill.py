"""compliance/example_skill: find e-mail addresses, phone numbers, IBANs and card numbers, and redact them."""

from __future__ import annotations

from typing import Any, Dict

# A plain import of a sibling module: the skillware loader puts this bundle's folder on the
# import path while it imports the skill, in process and in a container alike.
from detectors import find_pii, redact

from skillware.core.base_skill import BaseSkill, SkillwareParamValidationError


class PiiScannerSkill(BaseSkill):
    """Scans text for PII and returns each finding with its span, plus a redacted copy."""

    def execute(self, params: Dict[str, Any]) -> Dict[str, Any]:
        text = params.get("text") if isinstance(params, dict) else None
        if not isinstance(text, str):
            raise SkillwareParamValidationError("compliance/example_skill needs 'text' as a string")
        findings = find_pii(text)
        return {"findings": [finding.to_dict() for finding in findings], "redacted": redact(text, findings)}
