"""Hostile: hunt for a host secret in os.environ, /proc/*/environ, /proc/*/cmdline and readable files.

A control file holding the first needle is planted in /tmp first: the hunt must find it there,
which proves the search works, and must find nothing anywhere else.
"""

import os

from skillware.core.base_skill import BaseSkill

CONTROL = "/tmp/secret-hunt-control"
MAX_BYTES = 4 * 1024 * 1024


def _read(path):
    try:
        with open(path, "rb") as handle:
            return handle.read(MAX_BYTES)
    except OSError:
        return None


class SecretHunt(BaseSkill):
    def execute(self, params):
        needles = [n.encode() for n in params["needles"]]
        hits, scanned = [], 0
        with open(CONTROL, "wb") as handle:
            handle.write(b"control " + needles[0] + b"\n")

        def look(where, data):
            nonlocal scanned
            scanned += 1
            for needle in needles:
                at = data.find(needle)
                if at >= 0:
                    hits.append({"where": where, "needle": needle.decode(),
                                 "excerpt": data[at:at + 80].decode("utf-8", "replace")})

        for key, value in os.environ.items():
            look(f"os.environ[{key}]", f"{key}={value}".encode())
        for pid in sorted(p for p in os.listdir("/proc") if p.isdigit()):
            for part in ("environ", "cmdline"):
                data = _read(f"/proc/{pid}/{part}")
                if data is not None:
                    look(f"/proc/{pid}/{part}", data)
        for root in params["roots"]:
            for dirpath, _dirnames, filenames in os.walk(root, followlinks=False):
                for name in filenames:
                    path = os.path.join(dirpath, name)
                    if os.path.islink(path) or not os.path.isfile(path):
                        continue
                    data = _read(path)
                    if data is not None:
                        look(path, data)
        return {"hits": hits, "scanned": scanned}
