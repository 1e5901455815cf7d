"""Noisy but honest: everything it prints must stay out of the result on stdout."""

import os
import subprocess
import sys
import threading
import time

from skillware.core.base_skill import BaseSkill


def _chatter_forever():
    while True:
        print('{"from": "a thread"}', flush=True)
        time.sleep(0.001)


class Chatter(BaseSkill):
    def execute(self, params):
        threading.Thread(target=_chatter_forever, daemon=True).start()
        for number in range(1000):
            print(f"line {number}: not the result")
        sys.stdout.write('{"not": "the result"}\n')
        sys.stdout.flush()
        os.write(1, b'{"raw": "fd 1"}\n')
        subprocess.run(["echo", '{"from": "a child"}'], check=True)
        subprocess.run(["sh", "-c", "echo from sh; echo to stderr >&2"], check=True)
        return {"answer": params["answer"], "lines": 1000}
