"""The dask worker plugin of ``executor.DaskPool`` (a module of its own: it imports
``distributed``, an optional extra, which ``executor`` imports only when asked)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from distributed.diagnostics.plugin import WorkerPlugin


class Setup(WorkerPlugin):
    """Runs ``fn(threads)`` on every worker as it starts (a restarted one too); ``threads``,
    when None, is the worker's share of its machine's cores: ``cores // worker threads on
    that host``."""

    def __init__(self, fn: Callable[[int], None], threads: int | None, per_host: dict[str, int]):
        self.fn, self.threads, self.per_host = fn, threads, per_host

    def setup(self, worker: Any) -> None:
        threads = self.threads
        if threads is None:
            share = self.per_host.get(str(getattr(worker, "ip", "")), 1)
            threads = max(1, (os.cpu_count() or 1) // max(1, share))
        self.fn(threads)
