"""Hostile: report capabilities, seccomp and no_new_privs; try unshare, mount, keyctl, ptrace & co."""

import ctypes
import errno
import os
import platform
import signal
import subprocess
import time

from skillware.core.base_skill import BaseSkill

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
SIGCHLD = 17
PTRACE_ATTACH = 16
# Raw syscall numbers for what glibc has no wrapper for (or where the wrapper hides the call).
SYSCALLS = {
    "x86_64": {"clone": 56, "keyctl": 250, "add_key": 248, "bpf": 321, "io_uring_setup": 425, "userfaultfd": 323,
               "perf_event_open": 298, "pivot_root": 155},
    "aarch64": {"clone": 220, "keyctl": 219, "add_key": 217, "bpf": 280, "io_uring_setup": 425, "userfaultfd": 282,
                "perf_event_open": 241, "pivot_root": 41},
}

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long


def _outcome(result):
    if result == -1:
        code = ctypes.get_errno()
        return errno.errorcode.get(code, str(code))
    return "ok"


def _status():
    fields = {}
    with open("/proc/self/status", encoding="ascii") as handle:
        for line in handle:
            key, _, value = line.partition(":")
            if key.startswith("Cap") or key in ("Seccomp", "NoNewPrivs"):
                fields[key] = value.strip()
    return fields


def _clone_newuser(number):
    pid = libc.syscall(number, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0)
    if pid == 0:
        os._exit(0)
    if pid > 0:
        os.waitpid(pid, 0)
        return "ok"
    return _outcome(pid)


def _ptrace_attach():
    child = os.fork()
    if child == 0:
        time.sleep(30)
        os._exit(0)
    try:
        return _outcome(libc.ptrace(PTRACE_ATTACH, child, None, None))
    finally:
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)


class Posture(BaseSkill):
    def execute(self, params):
        numbers = SYSCALLS[platform.machine()]
        calls = {
            "unshare(CLONE_NEWUSER)": _outcome(libc.unshare(CLONE_NEWUSER)),
            "unshare(CLONE_NEWNS)": _outcome(libc.unshare(CLONE_NEWNS)),
            "clone(CLONE_NEWUSER)": _clone_newuser(numbers["clone"]),
            "mount(tmpfs)": _outcome(libc.mount(b"none", b"/tmp", b"tmpfs", 0, None)),
            "umount2(/tmp)": _outcome(libc.umount2(b"/tmp", 2)),
            "keyctl(JOIN_SESSION_KEYRING)": _outcome(libc.syscall(numbers["keyctl"], 1, None, 0, 0, 0)),
            "add_key(user)": _outcome(libc.syscall(numbers["add_key"], b"user", b"hostile", b"x", 1, -2)),
            "ptrace(ATTACH)": _ptrace_attach(),
            "bpf(MAP_CREATE)": _outcome(libc.syscall(numbers["bpf"], 0, None, 0)),
            "io_uring_setup": _outcome(libc.syscall(numbers["io_uring_setup"], 1, None)),
            "userfaultfd": _outcome(libc.syscall(numbers["userfaultfd"], 0)),
            "chroot(/tmp)": _outcome(libc.chroot(b"/tmp")),
            "setns": _outcome(libc.setns(os.open("/proc/self/ns/mnt", os.O_RDONLY), 0)),
            "pivot_root": _outcome(libc.syscall(numbers["pivot_root"], b"/tmp", b"/tmp")),
        }
        if hasattr(os, "unshare"):  # Python 3.12+
            try:
                os.unshare(CLONE_NEWUSER)
                calls["os.unshare(CLONE_NEWUSER)"] = "ok"
            except OSError as exc:
                calls["os.unshare(CLONE_NEWUSER)"] = errno.errorcode.get(exc.errno, str(exc.errno))
        try:
            os.setuid(0)
            calls["setuid(0)"] = "ok"
        except OSError as exc:
            calls["setuid(0)"] = errno.errorcode.get(exc.errno, str(exc.errno))
        try:
            done = subprocess.run(["unshare", "-U", "true"], capture_output=True, text=True)
            calls["unshare -U true"] = "ok" if done.returncode == 0 else done.stderr.strip()
        except OSError as exc:
            calls["unshare -U true"] = f"{type(exc).__name__}: {exc}"
        return {"status": _status(), "uid": os.getuid(), "euid": os.geteuid(), "gid": os.getgid(),
                "groups": os.getgroups(), "calls": calls}
