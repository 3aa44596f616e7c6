"""One executor interface for ``nnparity report`` sweeps and batch ``nnparity check``: a local
pool of processes (or threads) or a dask.distributed cluster, so both commands have one code
path whatever runs the work.

``open_executor(scheduler, jobs, ...)`` returns a ``Runner``-side object with

- ``submit(fn, *args) -> concurrent.futures.Future``;
- ``workers``: how many tasks run at once (the loop keeps ``2 * workers`` in flight);
- ``batch``: how many configurations one task carries (1 locally; on a cluster enough that the
  scheduler's per-task cost, a few milliseconds, is small beside a task's run time);
- ``lost(exc)``: the exception means the worker died running the task (a crash, the OOM
  killer, a killed machine) rather than the task raising;
- ``restart``: a lost worker breaks the whole executor (a local process pool) and what was in
  flight must be run again in a fresh one; False on dask, which replaces the worker and re-runs
  its tasks itself, giving up on a task (``KilledWorker``) only after it killed
  ``distributed.scheduler.allowed-failures`` workers.

``scheduler``: None (local), ``local:N`` (a ``LocalCluster`` of N single-threaded worker
processes, started and closed here) or a scheduler address (``tcp://host:8786``). dask is an
optional extra: ``pip install 'nnparity[dask]'``. Workers limit BLAS/OpenMP and torch to their
share of their machine's cores, as the local pool's workers do.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

LOCAL = "local:"
TASK_SECONDS = 5.0  # a cluster task should run about this long (configurations per task)
CONNECT_TIMEOUT = "10s"  # to reach a scheduler given by address
MAX_BATCH = 64  # ... and carry no more than this many, so a lost worker costs little


class SchedulerError(ValueError):
    """A ``--scheduler`` that cannot be used: its message names the problem and the fix."""


class Executor:
    """The interface (see the module docstring); a context manager that shuts down on exit."""

    workers: int = 1
    batch: int = 1
    restart: bool = True

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        raise NotImplementedError

    def lost(self, exc: BaseException) -> bool:
        return False

    def close(self) -> None:
        pass

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class LocalPool(Executor):
    """Spawned worker processes (``processes=True``) or threads; queued work is cancelled on
    the way out (Ctrl-C, stop). ``initializer(*initargs)`` runs in each process."""

    def __init__(
        self,
        jobs: int,
        *,
        processes: bool = True,
        initializer: Callable[..., None] | None = None,
        initargs: tuple = (),
    ):
        import multiprocessing

        self.workers = jobs
        if processes:
            self._pool: Any = ProcessPoolExecutor(
                max_workers=jobs,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=initializer,
                initargs=initargs,
            )
        else:
            self._pool = ThreadPoolExecutor(max_workers=jobs)
            self.restart = False

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        return self._pool.submit(fn, *args)

    def lost(self, exc: BaseException) -> bool:
        return isinstance(exc, BrokenProcessPool)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class DaskPool(Executor):
    """A dask.distributed client (``local:N`` starts a ``LocalCluster`` of N processes)."""

    restart = False

    def __init__(self, scheduler: str, *, threads: int | None = None, setup: Any = None):
        distributed = _import_dask()
        self._cluster = None
        if scheduler.startswith(LOCAL):
            n = _count(scheduler)
            self._cluster = distributed.LocalCluster(
                n_workers=n,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=40,
            )
            address: Any = self._cluster
        else:
            address = scheduler
        try:
            self._client = distributed.Client(address, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError) as e:
            self.close()
            raise SchedulerError(
                f"cannot reach the dask scheduler at {scheduler!r} ({e}): start one "
                "(`dask scheduler` and `dask worker ADDRESS`) or use --scheduler local:N"
            ) from None
        self._killed = distributed.KilledWorker
        info = self._client.scheduler_info()
        ws = info.get("workers", {}).values()
        self.workers = max(1, sum(int(w.get("nthreads", 1)) for w in ws))
        if setup is not None:
            per_host: dict[str, int] = {}
            for w in ws:
                host = str(w.get("host", ""))
                per_host[host] = per_host.get(host, 0) + int(w.get("nthreads", 1))
            from .dask_setup import Setup

            self._client.register_plugin(Setup(setup, threads, per_host), name="nnparity-setup")

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        fut = self._client.submit(fn, *args, pure=False)
        out: Future = Future()
        out.set_running_or_notify_cancel()

        def done(f: Any) -> None:
            try:
                exc = f.exception()
            except BaseException as e:  # noqa: BLE001 - cancelled, or the client closed
                exc = e
            if exc is not None:
                out.set_exception(exc)
            else:
                out.set_result(f.result())

        fut.add_done_callback(done)
        return out

    def lost(self, exc: BaseException) -> bool:
        return isinstance(exc, self._killed)

    def close(self) -> None:
        client, cluster = getattr(self, "_client", None), self._cluster
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()


def open_executor(
    scheduler: str | None,
    jobs: int,
    *,
    processes: bool = True,
    setup: Callable[[int], None] | None = None,
    threads: int | None = None,
    initializer: Callable[..., None] | None = None,
    initargs: tuple = (),
) -> Executor:
    """A local pool of ``jobs`` (processes or threads) when ``scheduler`` is None, else a dask
    client; ``setup(threads)`` runs on each dask worker, ``initializer(*initargs)`` in each
    local process."""
    if scheduler is None:
        return LocalPool(jobs, processes=processes, initializer=initializer, initargs=initargs)
    return DaskPool(scheduler, threads=threads, setup=setup)


def batch_size(todo: int, workers: int, seconds_each: float) -> int:
    """Configurations per cluster task: enough for ``TASK_SECONDS`` of work, at most
    ``MAX_BATCH``, and never so many that a worker sits idle (``todo / (2 * workers)``)."""
    want = math.ceil(TASK_SECONDS / max(seconds_each, 1e-3))
    fair = math.ceil(todo / (2 * max(1, workers)))
    return max(1, min(want, fair, MAX_BATCH))


def check_scheduler(text: str) -> str:
    """``--scheduler``'s value checked (``local:N`` with N >= 1, or an address)."""
    if text.startswith(LOCAL):
        _count(text)
    elif not text.strip():
        raise SchedulerError("--scheduler is empty: give local:N or a scheduler address")
    return text


def _count(text: str) -> int:
    try:
        n = int(text[len(LOCAL) :])
    except ValueError:
        n = 0
    if n < 1:
        raise SchedulerError(
            f"--scheduler {text!r}: write local:N with N >= 1 workers, e.g. local:4"
        )
    return n


def _import_dask() -> Any:
    try:
        import distributed
    except ImportError:
        raise SchedulerError(
            "--scheduler needs dask.distributed, an optional extra: "
            "pip install 'nnparity[dask]' (or drop --scheduler to use the local pool)"
        ) from None
    return distributed
