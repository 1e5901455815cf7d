"""Static review of a bundle's files and Python code, with file:line for each finding.

Python is parsed with `ast`, never imported or run: auditing a hostile skill must be safe.
"""

from __future__ import annotations

import ast
import os
import stat
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

from .audit_checklist import Finding, finding

MiB = 1024 * 1024
MAX_ENTRIES = 20000
MAX_PYTHON_BYTES = MiB
LARGE_BINARY = MiB

# Module (or module.attribute) → checklist item. A prefix match: "urllib.request" covers its submodules.
MODULES: Dict[str, str] = {
    **{m: "SW-60" for m in ("subprocess", "pty", "multiprocessing", "asyncio.subprocess", "pexpect", "sh",
                            "plumbum", "os.system", "os.popen", "os.fork", "os.forkpty", "os.posix_spawn",
                            "os.posix_spawnp", "os.startfile")},
    **{m: "SW-61" for m in ("socket", "ssl", "http.client", "http.server", "urllib.request", "urllib3", "requests",
                            "httpx", "aiohttp", "ftplib", "smtplib", "poplib", "imaplib", "telnetlib",
                            "xmlrpc.client", "socketserver", "websocket", "websockets", "paramiko")},
    **{m: "SW-62" for m in ("ctypes", "_ctypes", "cffi")},
    **{m: "SW-63" for m in ("pickle", "cPickle", "_pickle", "marshal", "shelve", "dill", "runpy", "code", "codeop")},
}
DYNAMIC_BUILTINS = ("eval", "exec", "compile", "__import__")
# os.exec*/os.spawn* are families; matched by prefix on the attribute name.
_OS_PREFIXES = ("exec", "spawn")
_WHAT = {"SW-60": "process spawning", "SW-61": "network code", "SW-62": "native code", "SW-63": "dynamic code"}


def _module_item(name: str) -> Optional[str]:
    for module, item_id in MODULES.items():
        if name == module or name.startswith(module + "."):
            return item_id
    return None


class _Scanner(ast.NodeVisitor):
    """Collects (item, line, what) for imports and calls of concern, following `import x as y` aliases."""

    def __init__(self) -> None:
        self.hits: List[Tuple[str, int, str]] = []
        self.aliases: Dict[str, str] = {}

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.aliases[alias.asname or alias.name.split(".")[0]] = alias.name if alias.asname else \
                alias.name.split(".")[0]
            item_id = _module_item(alias.name)
            if item_id:
                self.hits.append((item_id, node.lineno, f"import {alias.name}"))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        for alias in node.names:
            full = f"{module}.{alias.name}" if module else alias.name
            self.aliases[alias.asname or alias.name] = full
            item_id = _module_item(module) or _module_item(full)
            if item_id is None and module == "os" and alias.name.startswith(_OS_PREFIXES):
                item_id = "SW-60"
            if item_id is None and module == "importlib" and alias.name == "import_module":
                item_id = "SW-63"
            if item_id:
                self.hits.append((item_id, node.lineno, f"from {module} import {alias.name}"))

    def visit_Call(self, node: ast.Call) -> None:
        name = self._dotted(node.func)
        if name is not None:
            resolved = self._resolve(name)
            if resolved in DYNAMIC_BUILTINS or resolved in (f"builtins.{b}" for b in DYNAMIC_BUILTINS):
                self.hits.append(("SW-63", node.lineno, f"{name}()"))
            elif resolved == "importlib.import_module":
                self.hits.append(("SW-63", node.lineno, f"{name}()"))
            elif resolved.startswith("os.") and (resolved[3:].startswith(_OS_PREFIXES) or
                                                 _module_item(resolved) == "SW-60"):
                self.hits.append(("SW-60", node.lineno, f"{name}()"))
        self.generic_visit(node)

    def _dotted(self, node: ast.AST) -> Optional[str]:
        if isinstance(node, ast.Name):
            return node.id
        if isinstance(node, ast.Attribute):
            base = self._dotted(node.value)
            return f"{base}.{node.attr}" if base else None
        return None

    def _resolve(self, name: str) -> str:
        head, _, rest = name.partition(".")
        base = self.aliases.get(head, head)
        return f"{base}.{rest}" if rest else base


def scan_python(source: str, filename: str) -> List[Tuple[str, int, str]]:
    """(item, line, what) for every import or call of concern in one file; SyntaxError propagates."""
    scanner = _Scanner()
    scanner.visit(ast.parse(source, filename=filename))
    return sorted(set(scanner.hits), key=lambda hit: (hit[1], hit[0], hit[2]))


def code_findings(bundle_path: Path, python_files: Sequence[str], in_process: bool) -> List[Finding]:
    """Findings for SW-60…SW-64 over the bundle's Python files (relative paths)."""
    out: List[Finding] = []
    seen = set()
    for rel in python_files:
        path = bundle_path / rel
        try:
            if path.stat().st_size > MAX_PYTHON_BYTES:
                out.append(finding("code.unscanned", "SW-64", "warn", f"larger than {MAX_PYTHON_BYTES:,} bytes: "
                                   "not scanned, review by hand", file=rel))
                continue
            source = path.read_bytes().decode("utf-8", errors="replace")
            hits = scan_python(source, rel)
        except SyntaxError as exc:
            out.append(finding("code.syntax", "SW-64", "warn", f"does not parse ({exc.msg}): not scanned",
                               file=rel, line=exc.lineno))
            continue
        except (OSError, ValueError, RecursionError) as exc:
            out.append(finding("code.unscanned", "SW-64", "warn", f"not scanned: {exc}", file=rel))
            continue
        for item_id, line, what in hits:
            seen.add(item_id)
            where = " in an in-process skill (host rights)" if in_process else ""
            out.append(finding(f"code.{_WHAT[item_id].split()[0]}", item_id, "warn", f"{what}: {_WHAT[item_id]}"
                               f"{where}", file=rel, line=line, severity="high" if in_process else None))
    count = f"{len(python_files)} Python file(s)"
    for item_id, what in _WHAT.items():
        if item_id not in seen:
            out.append(finding(f"code.{what.split()[0]}", item_id, "pass", f"no {what} in {count}"))
    if not any(f.checklist == "SW-64" for f in out):
        out.append(finding("code.syntax", "SW-64", "pass", f"{count} parsed"))
    return out


def _walk(bundle_path: Path) -> Iterator[Tuple[str, os.stat_result]]:
    """(relative path, lstat) of every entry below the bundle, symlinks not followed, bounded."""
    count = 0
    for dirpath, dirnames, filenames in os.walk(bundle_path, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for name in [*dirnames, *sorted(filenames)]:
            count += 1
            if count > MAX_ENTRIES:
                raise OverflowError(f"more than {MAX_ENTRIES:,} files")
            full = os.path.join(dirpath, name)
            yield os.path.relpath(full, bundle_path).replace(os.sep, "/"), os.lstat(full)


def _is_text(path: Path) -> bool:
    with open(path, "rb") as handle:
        head = handle.read(8192)
    if b"\0" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start >= len(head) - 4  # a character cut at the end of the sample
    return True


def bundle_findings(bundle_path: Path, command: Sequence[str]) -> Tuple[List[Finding], List[str]]:
    """Findings for SW-14…SW-16 and the bundle's Python files (for code_findings)."""
    out: List[Finding] = []
    python_files: List[str] = []
    referenced = {arg[len("/skill/"):] for arg in command if arg.startswith("/skill/")}
    root = bundle_path.resolve()
    try:
        for rel, st in _walk(bundle_path):
            mode = st.st_mode
            if stat.S_ISLNK(mode):
                target = os.readlink(bundle_path / rel)
                resolved = (bundle_path / rel).resolve()
                inside = resolved == root or root in resolved.parents
                out.append(finding("files.symlink", "SW-15", "warn" if inside else "fail",
                                   f"symlink to {target}" + ("" if inside else ", outside the bundle"), file=rel))
            elif stat.S_ISDIR(mode):
                continue
            elif not stat.S_ISREG(mode):
                out.append(finding("files.special", "SW-15", "fail", "not a regular file (device, fifo or socket)",
                                   file=rel))
            else:
                if mode & (stat.S_ISUID | stat.S_ISGID):
                    out.append(finding("files.setuid", "SW-14", "fail", f"setuid/setgid bit set ({oct(mode & 0o7777)})",
                                       file=rel))
                elif mode & 0o111 and rel not in referenced:
                    out.append(finding("files.executable", "SW-14", "warn", "executable file (not the container "
                                       "command): why does it need the bit?", file=rel))
                if st.st_size > LARGE_BINARY and not _is_text(bundle_path / rel):
                    out.append(finding("files.binary", "SW-16", "warn", f"binary of {st.st_size:,} bytes: a "
                                       "reviewer cannot read it", file=rel))
                if rel.endswith(".py"):
                    python_files.append(rel)
    except OverflowError as exc:
        out.append(finding("files.count", "SW-16", "warn", f"bundle has {exc}: not fully scanned"))
    except OSError as exc:
        out.append(finding("files.read", "SW-15", "fail", f"cannot scan the bundle: {exc}"))
    for check, item_id, what in (("files.executable", "SW-14", "no executable or setuid files"),
                                 ("files.symlink", "SW-15", "no symlinks or special files"),
                                 ("files.binary", "SW-16", "no large binaries")):
        if not any(f.checklist == item_id for f in out):
            out.append(finding(check, item_id, "pass", what))
    return out, python_files


def dockerfile_findings(path: Path, display: str) -> List[Finding]:
    """FROM without a digest, ADD (URLs and archives unpack silently), secrets passed as ARG/ENV."""
    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > MiB:
            return [finding("dockerfile.read", "SW-53", "fail", "not a regular file of at most 1 MiB", file=display)]
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as exc:
        return [finding("dockerfile.read", "SW-53", "fail", f"cannot read: {exc.strerror}", file=display)]
    out: List[Finding] = []
    for number, line in enumerate(lines, 1):
        words = line.strip().split()
        keyword = words[0].upper() if words else ""
        if keyword == "FROM" and len(words) > 1 and "@sha256:" not in words[1]:
            out.append(finding("dockerfile.from", "SW-53", "warn", f"FROM {words[1]} is not pinned by digest",
                               file=display, line=number))
        elif keyword == "ADD":
            out.append(finding("dockerfile.add", "SW-53", "warn", "ADD fetches URLs and unpacks archives: use COPY",
                               file=display, line=number))
        elif keyword in ("ARG", "ENV") and any(s in line.upper() for s in ("TOKEN", "SECRET", "PASSWORD", "KEY=")):
            out.append(finding("dockerfile.secret", "SW-53", "warn", f"{keyword} looks like a secret baked into "
                               "the image", file=display, line=number))
    if not out:
        out.append(finding("dockerfile.review", "SW-53", "pass", f"{display}: FROM pinned, no ADD, no secrets"))
    return out
