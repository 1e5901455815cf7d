"""Audit reports as text: a table for a terminal, JSON for tools, Markdown for a pull-request comment."""

from __future__ import annotations

import json
import shlex
from typing import Any, List, Sequence

from .audit import AuditReport
from .audit_checklist import Finding

FORMATS = ("table", "json", "markdown")
_ORDER = {"fail": 0, "warn": 1, "manual": 2, "pass": 3}


def overall_status(reports: Sequence[AuditReport], strict: bool = False) -> str:
    """"fail" when any report fails (with strict, when any finding warns too), else "pass"."""
    bad = ("fail", "warn") if strict else ("fail",)
    return "fail" if any(f.status in bad for r in reports for f in r.findings) else "pass"


def render(reports: Sequence[AuditReport], fmt: str, strict: bool = False) -> str:
    """All reports in one format. JSON: one report object, or {status, reports} for several."""
    if fmt == "json":
        if len(reports) == 1:
            return json.dumps(reports[0].to_json(), indent=2, ensure_ascii=False)
        return json.dumps({"schema": 1, "status": overall_status(reports, strict),
                           "reports": [r.to_json() for r in reports]}, indent=2, ensure_ascii=False)
    render_one = render_markdown if fmt == "markdown" else render_table
    parts = [render_one(r) for r in reports]
    if len(reports) > 1:
        failed = [r.skill for r in reports if r.status == "fail"]
        summary = f"{len(reports) - len(failed)} of {len(reports)} skill(s) pass" + \
            (f"; failing: {', '.join(failed)}" if failed else "")
        parts.append(f"**{summary}**" if fmt == "markdown" else summary)
    return "\n\n".join(parts)


def _where(f: Finding) -> str:
    if not f.file:
        return "-"
    return f"{f.file}:{f.line}" if f.line else f.file


def _counts(report: AuditReport) -> str:
    return ", ".join(f"{n} {s}" for s, n in report.counts().items())


def _header(report: AuditReport) -> List[str]:
    engine = report.engine or {}
    mode = f"{'rootless' if engine.get('rootless') else 'rootful'}, cgroup {engine.get('cgroup')}, limits " + \
        ("enforced" if engine.get("limits_enforced") else "NOT enforced")
    isolated = "" if report.execution == "container" else " (audited as `run --isolated` would run it)"
    return [f"execution: {report.execution}{isolated}",
            f"engine:    {engine.get('name')} {engine.get('version')}, {mode}" if engine else "engine:    -",
            f"policy:    {report.policy or 'built-in defaults'}",
            f"image:     {report.image or '-'}",
            f"path:      {report.path}"]


def _argv_lines(report: AuditReport) -> List[str]:
    if report.argv is None:
        return ["(no argv: the run would be refused, see the failures)"]
    width = max((len(t.checklist or "UNTRACED") for t in report.flags), default=5)
    lines = [report.argv[0]]
    lines += [f"{(t.checklist or 'UNTRACED').ljust(width)}  {t.flag}" for t in report.flags]
    at = len(report.argv) - 1 - report.argv[::-1].index(report.image) if report.image in report.argv else None
    if at is not None:
        lines.append(f"{'SW-50'.ljust(width)}  {shlex.join(report.argv[at:])}")
    return lines


def render_table(report: AuditReport) -> str:
    """A readable report: header, the traced argv, then findings (failures first)."""
    from .cli.options import table

    lines = [f"{report.skill}: {report.status.upper()}  ({_counts(report)})"]
    lines += ["  " + line for line in _header(report)]
    lines += ["", "Container argv, each option traced to its checklist item:"]
    lines += ["  " + line for line in _argv_lines(report)]
    rows = [[f.checklist or "-", f.status, f.severity, f.id, _where(f), f.message]
            for f in sorted(report.findings, key=lambda f: (_ORDER[f.status], f.checklist or ""))]
    lines += ["", table(rows, ["item", "status", "severity", "check", "where", "message"])]
    if report.probe is not None and report.probe.get("error"):
        lines += ["", f"probe: {report.probe['error']}"]
    return "\n".join(lines)


def _cell(text: Any) -> str:
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _md_rows(findings: Sequence[Finding]) -> List[str]:
    rows = ["| Item | Status | Severity | Check | Where | Finding |", "|---|---|---|---|---|---|"]
    rows += [f"| {_cell(f.checklist or '-')} | {f.status} | {f.severity} | `{_cell(f.id)}` | {_cell(_where(f))} | "
             f"{_cell(f.message)} |" for f in findings]
    return rows


def render_markdown(report: AuditReport) -> str:
    """A pull-request comment: problems in a table, passes and the argv folded away."""
    ordered = sorted(report.findings, key=lambda f: (_ORDER[f.status], f.checklist or ""))
    open_items = [f for f in ordered if f.status != "pass"]
    passed = [f for f in ordered if f.status == "pass"]
    lines = [f"### skillware audit: `{report.skill}` — **{report.status.upper()}**", "",
             f"{_counts(report)} · checklist: SECURITY_CHECKLIST.md", ""]
    lines += [f"- {_cell(' '.join(line.split()))}" for line in _header(report)]
    lines.append("")
    lines += _md_rows(open_items) if open_items else ["Every automatic check passed; no manual items."]
    lines += ["", f"<details><summary>Passed checks ({len(passed)})</summary>", "", *_md_rows(passed), "",
              "</details>", "", "<details><summary>Container argv, each option traced</summary>", "", "```text",
              *_argv_lines(report), "```", "", "</details>"]
    return "\n".join(lines)
