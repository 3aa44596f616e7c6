"""Run every configuration (spec x mode) of a plan in worker processes, each isolated: one
that raises becomes an ``error`` outcome carrying its message, one that goes non-finite a
``diverged`` (both sides) or ``fail`` outcome with the place; the sweep goes on.

Workers are spawned (never forked from a process holding thread pools) and each limits NumPy's
BLAS and torch to ``cores // jobs`` threads, so the pool never oversubscribes the machine.
Every finished configuration is appended to the checkpoint at once; with ``resume`` the ones
already there are not run again. A worker that dies (a crash, out of memory) breaks the pool:
the unfinished configurations are retried in a fresh pool, and one that was running in a
dying pool twice becomes an error outcome. Workers die with the main process, even when it is
killed with ``kill -9`` (see ``die_with``). With ``scheduler`` the same loop runs on
dask.distributed (``executor``), in batches of configurations per task.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ALL_COMPLETED, Future, wait
from concurrent.futures import FIRST_COMPLETED as FIRST
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from .checkpoint import FIELDS, Checkpoint, Outcome
from .executor import Executor, batch_size, open_executor

Runner = Callable[[str, str, int], Outcome]
SMALL_SWEEP = 100  # configurations below which one process beats spawning workers (~2 s each)
_THREADS: Any = "auto"  # run_parity's ``threads``; a worker sets its own count once
_WORKER_LIMIT: int | None = None  # a worker's thread count, applied before its first run
PARENT_POLL_S = 0.5  # how often a worker checks that its parent still lives
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def run_config(spec: str, mode: str, steps: int) -> Outcome:
    """Run one configuration; return its outcome (never raises for a configuration's fault).
    ``mode`` may name the reference after an '@' (``'free@jax'``, see ``with_framework``):
    scratch is then held to that framework; plain modes hold it to PyTorch."""
    from nnparity.reference.engine import run_parity

    _limit_once()
    plain, fw = split_mode(mode)
    try:
        result = run_parity(spec, steps, plain, threads=_THREADS, against=fw)
    except Exception as e:  # noqa: BLE001 - isolation is the point
        return Outcome(spec, mode, "error", (), f"{type(e).__name__}: {e}")
    return outcome(spec, mode, result.records)


def with_framework(mode: str, framework: str) -> str:
    """The sweep's task mode for ``framework``: ``'free'`` for torch, ``'free@jax'`` else (the
    checkpoint knows a configuration by (spec, mode), so each framework is its own task)."""
    return mode if framework == "torch" else f"{mode}@{framework}"


def split_mode(mode: str) -> tuple[str, str]:
    """``'free@jax'`` -> ``('free', 'jax')``; ``'free'`` -> ``('free', 'torch')``."""
    plain, _, fw = mode.partition("@")
    return plain, fw or "torch"


def outcome(spec: str, mode: str, records: Sequence[Any]) -> Outcome:
    """The outcome of a configuration whose engine run gave ``records`` (``Record`` objects):
    pass, fail, or diverged (non-finite on both sides, parity held), with its message."""
    rows = tuple(
        tuple(tuple(r.shape) if f == "shape" else getattr(r, f) for f in FIELDS) for r in records
    )
    passed = all(r.passed for r in records)
    status = "pass" if passed else "fail"
    if passed and any(r.nonfinite for r in records):
        status = "diverged"
    return Outcome(spec, mode, status, rows, _message(records, mode))


def _message(records: Sequence[Any], mode: str) -> str:
    """The message of a configuration that went non-finite, "" for one that did not.

    One side only (a failed record whose difference is infinite: a non-finite value against a
    finite one) comes first, named by its first such record: that is a parity failure.
    Non-finite on both sides (the training itself diverges) is named by its first record, with
    the first failure, if any, beside it.
    """
    one_side = next(
        (r for r in records if r.nonfinite and not r.passed and math.isinf(r.max_abs)), None
    )
    if one_side is not None:
        return (
            f"non-finite values on one side only at {one_side.where} ({mode} mode): "
            f"scratch {one_side.scratch_value!r}, PyTorch {one_side.torch_value!r}"
        )
    both = next((r for r in records if r.nonfinite), None)
    if both is None:
        return ""
    text = (
        f"non-finite values on both sides from {both.where} ({mode} mode): the training "
        "itself diverges, scratch and PyTorch alike; lower the learning rate or the "
        "initial weights"
    )
    failed = next((r for r in records if not r.passed), None)
    if failed is not None:
        text += f"; parity failed at {failed.where}"
    return text


def note(text: str) -> None:
    """Say ``text`` on standard error, as ``nnparity report``."""
    print(f"nnparity report: {text}", file=sys.stderr, flush=True)


def _init_worker(threads: int, parent: int) -> None:
    """In each worker: ignore Ctrl-C (the parent handles it); die with ``parent``; note the
    thread count."""
    import signal

    global _WORKER_LIMIT
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with(parent)
    _WORKER_LIMIT = threads


def die_with(parent: int, every: float = PARENT_POLL_S) -> None:
    """End this process when ``parent`` (its parent's PID) ends, even by ``kill -9``.

    Linux: ``prctl(PR_SET_PDEATHSIG, SIGKILL)``, the kernel's own notice. Everywhere, also a
    daemon thread that polls ``os.getppid()`` every ``every`` seconds (an orphan is re-parented,
    so its parent PID changes) and exits the process when it differs. A parent already gone
    before this ran is caught by the first comparison."""
    import threading

    if sys.platform.startswith("linux"):
        _pdeathsig()
    if os.getppid() != parent:
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(every)
        os._exit(1)

    threading.Thread(target=watch, name="nnparity-parent-watch", daemon=True).start()


def _pdeathsig() -> bool:
    """Ask Linux to send SIGKILL to this process when its parent dies; True if it agreed."""
    import ctypes
    import signal

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0
    except (OSError, AttributeError):  # no libc symbol: the polling thread remains
        return False


def _limit_once() -> None:
    """In a worker, before its first configuration: limit BLAS and torch to its threads."""
    global _WORKER_LIMIT, _THREADS
    if _WORKER_LIMIT is None:
        return
    import numpy  # noqa: F401 - load BLAS before limiting it
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(_WORKER_LIMIT)
    threadpool_limits(limits=_WORKER_LIMIT)
    _THREADS, _WORKER_LIMIT = None, None  # keep the limits set here


WARMING = (
    "{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} [{elapsed}, warming up: no ETA yet]"
)


def sweep(
    tasks: Sequence[tuple[str, str]],
    steps: int,
    checkpoint: str | Path,
    *,
    jobs: int | None = None,
    resume: bool = False,
    progress: bool = True,
    limit: int | None = None,
    runner: Runner = run_config,
    log: Callable[[str], None] | None = None,
    scheduler: str | None = None,
) -> list[Outcome]:
    """Run ``tasks`` (spec text, mode); return the finished outcomes in task order.

    ``jobs``: worker processes; 1 runs in this process; None: the cores, or this process for
    fewer than ``SMALL_SWEEP`` configurations. ``limit``: stop after this many newly finished
    configurations (what an interruption leaves behind). ``log`` receives what the checkpoint
    has to say (how many configurations a resume kept, a replaced checkpoint); by default it
    goes to standard error. ``scheduler``: run on dask.distributed (``local:N`` or an
    address, see ``executor``) instead of local processes; same outcomes, same checkpoint.
    """
    from tqdm import tqdm

    ckpt = Checkpoint(checkpoint, steps)
    done, notes = ckpt.open(resume, tasks)
    for text in notes:
        (log or note)(text)
    todo = [t for t in dict.fromkeys(tasks) if t not in done]
    if jobs is None:
        jobs = 1 if len(todo) < SMALL_SWEEP else os.cpu_count() or 1
    bar = tqdm(
        total=len(set(tasks)),
        initial=len(set(tasks)) - len(todo),
        desc="nnparity report",
        unit="config",
        file=sys.stderr,
        disable=not progress,
        dynamic_ncols=True,
        smoothing=0,  # the rate since the workers are warm (see finish)
        bar_format=WARMING,
    )
    count = [0]
    warm = 1 if jobs <= 1 else min(jobs, len(todo))  # finished when each worker paid its imports

    def finish(o: Outcome) -> bool:
        done[o.key] = o
        ckpt.append(o)
        count[0] += 1
        if count[0] == warm and not bar.disable:  # the rate and ETA count from now, not the imports
            bar.n += 1
            bar.start_t = bar.last_print_t = bar._time()
            bar.initial, bar.bar_format = bar.n, None
            bar.refresh()
        else:
            bar.update(1)
        return limit is not None and count[0] >= limit

    try:
        if scheduler is None and (jobs <= 1 or len(todo) <= 1):
            for task in todo:
                if finish(_call(runner, task, steps)):
                    break
        else:
            _pool(todo, steps, jobs, runner, finish, scheduler)
    finally:
        bar.close()
        ckpt.close()
    return [done[t] for t in dict.fromkeys(tasks) if t in done]


def _pool(
    todo: list[tuple[str, str]],
    steps: int,
    jobs: int,
    runner: Runner,
    finish: Callable[[Outcome], bool],
    scheduler: str | None = None,
) -> None:
    """Run ``todo`` on an executor (``executor.open_executor``: a local process pool, or dask
    with ``scheduler``), in batches of ``executor.batch`` configurations; stop when finish says
    so.

    At most ``2 * workers`` batches are in flight. A worker that dies breaks a local pool: what
    was in flight is suspect and the pool is replaced; a task suspected twice runs in a pool
    of its own, and becomes an error outcome if its worker dies again. On dask only the batches
    on the dying worker are lost, and dask re-runs them first; those it gives up on
    (``KilledWorker``) run again one at a time at the end, with nothing else in flight, and
    become an error outcome if their worker dies again.
    """
    threads = max(1, (os.cpu_count() or 1) // jobs)
    strikes: dict[tuple[str, str], int] = {}
    queue = deque(todo)
    while queue:
        suspects: list[tuple[str, str]] = []
        quarantine: list[tuple[str, str]] = []
        with _open(scheduler, min(jobs, len(queue)), threads) as pool:
            size = 1 if scheduler is None else batch_size(len(queue), pool.workers, SECONDS_EACH)
            inflight: dict[Future[list[Outcome]], list[tuple[str, str]]] = {}
            while queue or inflight:
                broken = False  # a worker died since the last wait: submit refuses
                while queue and len(inflight) < 2 * pool.workers:
                    batch = [queue.popleft() for _ in range(size) if queue]
                    try:
                        inflight[pool.submit(run_batch, runner, batch, steps)] = batch
                    except BrokenProcessPool:
                        queue.extendleft(reversed(batch))
                        broken = True
                        break
                finished, _ = wait(inflight, return_when=ALL_COMPLETED if broken else FIRST)
                for f in finished:
                    batch = inflight.pop(f)
                    results = _results(f, batch, pool)
                    if results is None:
                        suspects += batch
                        continue
                    for result in results:
                        if finish(result):
                            return
                if pool.restart and (suspects or broken):  # what is in flight is lost with it
                    suspects += [t for b in inflight.values() for t in b]
                    break
                if not pool.restart:  # dask re-ran them already: each runs alone at the end
                    quarantine += suspects
                    suspects = []
            for task in quarantine:  # nothing else in flight: a death is its own
                got = _results(pool.submit(run_batch, runner, [task], steps), [task], pool)
                if finish(got[0] if got else Outcome(*task, "error", (), DIED)):
                    return
        if _strike(suspects, strikes, queue, finish, (runner, steps, threads)):
            return


def _strike(
    suspects: list[tuple[str, str]],
    strikes: dict[tuple[str, str], int],
    queue: deque[tuple[str, str]],
    finish: Callable[[Outcome], bool],
    solo: tuple[Runner, int, int],
) -> bool:
    """Count a strike against each suspect of a broken local pool: the first puts it back at
    the queue's head; at the second it runs once more in a pool of its own, and is an error
    outcome if that worker dies too. True when finish says stop."""
    runner, steps, threads = solo
    for task in reversed(suspects):
        strikes[task] = strikes.get(task, 0) + 1
        if strikes[task] == 1:
            queue.appendleft(task)
            continue
        with _open(None, 1, threads) as one:
            got = _results(one.submit(run_batch, runner, [task], steps), [task], one)
        if finish(got[0] if got else Outcome(*task, "error", (), DIED)):
            return True
    return False


DIED = "the worker process died running this configuration"
SECONDS_EACH = 0.25  # a default-matrix configuration on one core, measured (batch sizing)


def run_batch(runner: Runner, batch: list[tuple[str, str]], steps: int) -> list[Outcome]:
    """Run each configuration of ``batch`` (a cluster task), each isolated as in one process."""
    return [_call(runner, task, steps) for task in batch]


def limit_threads(threads: int) -> None:
    """On a dask worker as it starts: its configurations run with ``threads`` threads."""
    global _WORKER_LIMIT
    _WORKER_LIMIT = threads


def _open(scheduler: str | None, jobs: int, threads: int) -> Executor:
    return open_executor(
        scheduler,
        jobs,
        setup=limit_threads,
        initializer=_init_worker,
        initargs=(threads, os.getpid()),
    )


def _call(runner: Runner, task: tuple[str, str], steps: int) -> Outcome:
    """``runner(*task, steps)`` in this process; an error outcome if it raises."""
    try:
        return runner(*task, steps)
    except Exception as e:  # noqa: BLE001
        return Outcome(*task, "error", (), f"{type(e).__name__}: {e}")


def _results(
    f: Future[list[Outcome]], batch: list[tuple[str, str]], pool: Executor
) -> list[Outcome] | None:
    """The outcomes of ``f``; None when its worker died; error outcomes if it raised."""
    try:
        return f.result()
    except Exception as e:  # noqa: BLE001
        if pool.lost(e):
            return None
        return [Outcome(*task, "error", (), f"{type(e).__name__}: {e}") for task in batch]
