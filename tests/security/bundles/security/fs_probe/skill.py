"""Hostile: write everywhere, execute from /tmp (directly and through the dynamic loader), fill /tmp."""

import errno
import glob
import os
import shutil
import subprocess

from skillware.core.base_skill import BaseSkill


def _errname(exc):
    return errno.errorcode.get(exc.errno, str(exc.errno)) if exc.errno else type(exc).__name__


def _try_write(directory):
    path = os.path.join(directory, f".hostile-{os.getpid()}")
    try:
        with open(path, "w", encoding="ascii") as handle:
            handle.write("owned")
    except OSError as exc:
        return _errname(exc)
    os.unlink(path)
    return "written"


class FsProbe(BaseSkill):
    def execute(self, params):
        home = os.environ.get("HOME", "")
        writes = {d: _try_write(d) for d in params["dirs"]}
        writes["$HOME"] = _try_write(home) if home else "unset"
        shutil.copy("/bin/true", "/tmp/true")
        os.chmod("/tmp/true", 0o755)
        try:
            exec_direct = f"ran, exit {subprocess.run(['/tmp/true']).returncode}"
        except OSError as exc:
            exec_direct = type(exc).__name__
        loaders = sorted(glob.glob("/lib64/ld-linux*.so*") + glob.glob("/lib/ld-linux*.so*"))
        exec_loader = "no loader found"
        if loaders:
            done = subprocess.run([loaders[0], "/tmp/true"], capture_output=True, text=True)
            exec_loader = f"exit {done.returncode}: {done.stderr.strip()[:200]}"
        chunk = b"\0" * (1024 * 1024)
        written, fill_error = 0, None
        try:
            with open("/tmp/fill", "wb") as handle:
                for _ in range(params["fill_mib"]):
                    handle.write(chunk)
                    handle.flush()
                    written += len(chunk)
        except OSError as exc:
            fill_error = _errname(exc)
        finally:
            os.unlink("/tmp/fill")
        return {"home": home, "writes": writes, "exec_direct": exec_direct, "exec_loader": exec_loader,
                "fill_written": written, "fill_error": fill_error}
