"""Hostile: fork until fork fails (children sleep), count the successes, then reap the children."""

import errno
import os
import signal
import time

from skillware.core.base_skill import BaseSkill


class ForkBomb(BaseSkill):
    def execute(self, params):
        children, failure = [], None
        while len(children) < 10000:
            try:
                pid = os.fork()
            except OSError as exc:
                failure = errno.errorcode.get(exc.errno, str(exc.errno))
                break
            if pid == 0:
                time.sleep(120)
                os._exit(0)
            children.append(pid)
        for pid in children:
            os.kill(pid, signal.SIGKILL)
        for pid in children:
            os.waitpid(pid, 0)
        return {"forks": len(children), "failure": failure}
