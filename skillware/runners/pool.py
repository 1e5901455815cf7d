"""A pool of warm workers per key (skill content, policy, caller, engine): one call per worker."""

from __future__ import annotations

import threading
import time
from typing import Callable, Dict, Hashable, List

from .worker import Worker


class WorkerPool:
    """Hands out idle workers, starts new ones up to `size` per key, recycles old and idle ones."""

    def __init__(self, size: int = 1, max_calls: int = 1000, idle_seconds: float = 300.0) -> None:
        self.size = max(1, size)
        self.max_calls = max_calls
        self.idle_seconds = idle_seconds
        self._idle: Dict[Hashable, List[Worker]] = {}
        self._busy: Dict[Hashable, int] = {}
        self._cond = threading.Condition()
        self._closed = False
        self._reaper = threading.Thread(target=self._reap_loop, name="skillware-pool-reaper", daemon=True)
        self._reaper.start()

    def acquire(self, key: Hashable, start: Callable[[], Worker]) -> Worker:
        """An idle worker for `key`, a new one if the pool has room, else wait for one."""
        with self._cond:
            while True:
                if self._closed:
                    raise RuntimeError("the SkillRunner is closed")
                idle = self._idle.setdefault(key, [])
                while idle:
                    worker = idle.pop()
                    if self._usable(worker):
                        self._busy[key] = self._busy.get(key, 0) + 1
                        return worker
                    self._retire(worker)
                if self._busy.get(key, 0) < self.size:
                    self._busy[key] = self._busy.get(key, 0) + 1
                    break
                self._cond.wait()
        try:
            return start()
        except BaseException:
            self._done(key)
            raise

    def release(self, key: Hashable, worker: Worker) -> None:
        """Give a worker back; a dead or worn-out one is removed instead."""
        with self._cond:
            if worker.dead or self._closed or not self._usable(worker):
                self._retire(worker)
            else:
                self._idle.setdefault(key, []).append(worker)
            self._busy[key] -= 1
            self._cond.notify_all()

    def _done(self, key: Hashable) -> None:
        with self._cond:
            self._busy[key] -= 1
            self._cond.notify_all()

    def _usable(self, worker: Worker) -> bool:
        fresh = time.monotonic() - worker.last_used < self.idle_seconds
        return not worker.dead and worker.calls < self.max_calls and fresh and worker.proc.poll() is None

    @staticmethod
    def _retire(worker: Worker) -> None:
        if worker.dead:
            worker.stop()
        else:
            threading.Thread(target=worker.close_gracefully, daemon=True).start()

    def _reap_loop(self) -> None:
        while True:
            time.sleep(max(1.0, min(self.idle_seconds / 2, 30.0)))
            with self._cond:
                if self._closed:
                    return
                for key, idle in self._idle.items():
                    keep = [w for w in idle if self._usable(w)]
                    for worker in idle:
                        if worker not in keep:
                            self._retire(worker)
                    self._idle[key] = keep

    def close(self) -> None:
        """Stop every idle worker and refuse new calls (busy ones are stopped on release)."""
        with self._cond:
            self._closed = True
            workers = [w for idle in self._idle.values() for w in idle]
            self._idle.clear()
            self._cond.notify_all()
        threads = [threading.Thread(target=w.close_gracefully, daemon=True) for w in workers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=15)
