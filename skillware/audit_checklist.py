"""The security checklist as data: stable ids (SW-01 …) shared by SECURITY_CHECKLIST.md and the audit.

Ids never change meaning and are never reused; a retired item keeps its number in the document.
References: CIS Docker Benchmark v1.6.0 (section 4 images, section 5 container runtime) and the
OWASP Docker Security Cheat Sheet (RULE #0-#13, the edition on cheatsheetseries.owasp.org).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional, Tuple

STATUSES = ("pass", "fail", "warn", "manual")
SEVERITIES = ("high", "medium", "low", "info")


@dataclass(frozen=True)
class CheckItem:
    """One checklist item: what it is, what it maps to, and who checks it."""

    id: str
    group: str
    title: str
    cis: str      # CIS Docker Benchmark v1.6.0 item numbers, "" when none applies
    owasp: str    # OWASP Docker Security Cheat Sheet rules, "" when none applies
    mode: str     # "auto": `skillware audit` decides; "manual": a reviewer must
    severity: str  # of a failure or warning


@dataclass(frozen=True)
class Finding:
    """One result of the audit: which check, which checklist item, pass/fail/warn/manual, and where."""

    id: str                      # the check, stable: "argv.cap-drop", "code.subprocess", "probe.capabilities"
    checklist: Optional[str]     # "SW-01"; None for the audit's own errors
    status: str                  # pass | fail | warn | manual
    message: str
    severity: str = "info"
    file: Optional[str] = None
    line: Optional[int] = None


def _item(id: str, group: str, title: str, cis: str, owasp: str, mode: str, severity: str) -> CheckItem:
    return CheckItem(id, group, title, cis, owasp, mode, severity)


GROUPS = ("isolation", "filesystem", "network", "resources", "secrets", "image supply chain", "code review")

CHECKLIST: Tuple[CheckItem, ...] = (
    _item("SW-01", "isolation", "All Linux capabilities dropped", "5.3", "#3", "auto", "high"),
    _item("SW-02", "isolation", "Never privileged", "5.4", "#3", "auto", "high"),
    _item("SW-03", "isolation", "No new privileges (setuid binaries gain nothing)", "5.25", "#4", "auto", "high"),
    _item("SW-04", "isolation", "skillware's own seccomp profile, never unconfined", "5.21", "#6", "auto", "high"),
    _item("SW-05", "isolation", "Runs as a random unprivileged uid, never root", "4.1", "#2", "auto", "high"),
    _item("SW-06", "isolation", "No host namespaces (pid, ipc, uts, user, cgroup)", "5.15, 5.16, 5.20, 5.30", "",
          "auto", "high"),
    _item("SW-07", "isolation", "No host devices", "5.17", "", "auto", "high"),
    _item("SW-08", "isolation", "Untrusted skills run in a container (manifest or policy)", "", "", "auto",
          "medium"),
    _item("SW-09", "isolation", "Kernel isolation tier fits the risk (gVisor for the highest)", "", "#6", "manual",
          "medium"),
    _item("SW-10", "filesystem", "Read-only root filesystem", "5.12", "#8", "auto", "high"),
    _item("SW-11", "filesystem", "Only the bundle and the shim are mounted, read-only", "5.5, 5.19", "#8", "auto",
          "high"),
    _item("SW-12", "filesystem", "/tmp is a size-bounded tmpfs with noexec,nosuid,nodev", "5.12", "#8", "auto",
          "medium"),
    _item("SW-13", "filesystem", "No engine socket inside the container", "5.31", "#1", "auto", "high"),
    _item("SW-14", "filesystem", "No executable or setuid/setgid files in the bundle", "4.8", "", "auto", "medium"),
    _item("SW-15", "filesystem", "No symlinks or special files in the bundle", "5.5", "", "auto", "medium"),
    _item("SW-16", "filesystem", "No large opaque binaries in the bundle (> 1 MiB, not text)", "", "#9, #13", "auto",
          "medium"),
    _item("SW-20", "network", "No network: loopback only", "5.9, 5.29", "#5", "auto", "high"),
    _item("SW-21", "network", "No published ports", "5.7, 5.8, 5.13", "#5", "auto", "high"),
    _item("SW-22", "network", "Declared egress is justified", "", "#5", "manual", "medium"),
    _item("SW-30", "resources", "Memory limit, swap equal to it", "5.10", "#7", "auto", "high"),
    _item("SW-31", "resources", "CPU limit", "5.11", "#7", "auto", "medium"),
    _item("SW-32", "resources", "Process limit (pids cgroup and nproc)", "5.28", "#7", "auto", "high"),
    _item("SW-33", "resources", "Open-files limit", "5.18", "#7", "auto", "low"),
    _item("SW-34", "resources", "Wall-time limit; the container is always removed", "", "#7", "auto", "medium"),
    _item("SW-35", "resources", "Limits are really enforced by the engine", "5.10, 5.28", "#7", "auto", "high"),
    _item("SW-36", "resources", "Limits within what a reviewer expects", "", "#7", "auto", "low"),
    _item("SW-37", "resources", "Within the policy's ceilings", "", "#7", "auto", "high"),
    _item("SW-40", "secrets", "The host environment is never inherited", "", "#12", "auto", "high"),
    _item("SW-41", "secrets", "Declared env vars (secrets) are justified", "", "#12", "auto", "medium"),
    _item("SW-42", "secrets", "Secret values never in argv or the engine's database", "", "#12", "auto", "medium"),
    _item("SW-43", "secrets", "No skill output on the host's disk (log driver none)", "", "", "auto", "medium"),
    _item("SW-50", "image supply chain", "Image pinned by digest or built from the bundle", "4.2", "#13", "auto",
          "medium"),
    _item("SW-51", "image supply chain", "Image allowed by the policy", "4.2", "#13", "auto", "high"),
    _item("SW-52", "image supply chain", "No pulls at run time", "4.2", "#13", "auto", "medium"),
    _item("SW-53", "image supply chain", "Dockerfile: pinned FROM, COPY not ADD, no secrets", "4.9, 4.10", "#9, #13",
          "auto", "medium"),
    _item("SW-54", "image supply chain", "Requirements pinned and reviewed", "", "#13", "auto", "low"),
    _item("SW-60", "code review", "No process spawning (subprocess, os.system, pty …)", "", "", "auto", "medium"),
    _item("SW-61", "code review", "No network code (socket, urllib, requests …)", "", "", "auto", "medium"),
    _item("SW-62", "code review", "No native code (ctypes, cffi)", "", "", "auto", "medium"),
    _item("SW-63", "code review", "No dynamic code (eval, exec, compile, __import__, pickle …)", "", "", "auto",
          "high"),
    _item("SW-64", "code review", "Every Python file parses", "", "", "auto", "medium"),
    _item("SW-65", "code review", "The skill does what its description says, and nothing else", "", "", "manual",
          "high"),
    _item("SW-66", "code review", "Instructions and descriptions hold no prompt injection", "", "", "manual",
          "medium"),
)

BY_ID: Dict[str, CheckItem] = {item.id: item for item in CHECKLIST}


def item(item_id: str) -> CheckItem:
    """The checklist item with this id (KeyError for an unknown id: ids are never invented)."""
    return BY_ID[item_id]


def finding(check: str, item_id: Optional[str], status: str, message: str, *, file: Optional[str] = None,
            line: Optional[int] = None, severity: Optional[str] = None) -> Finding:
    """A Finding whose severity defaults to the item's for fail/warn and to info otherwise."""
    if severity is None:
        severity = item(item_id).severity if item_id and status in ("fail", "warn") else "info"
    return Finding(check, item_id, status, message, severity, file, line)
