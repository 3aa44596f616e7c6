"""What a sweep will cost, estimated from the spec sizes before anything runs, and the refusal
of a sweep that cannot fit: ``check(plan, jobs)`` raises ``ResourceError`` naming the limit.

The estimates are linear models measured on one core of an x86-64 machine (numpy 2.4, torch
2.13), with a margin; they are meant to tell seconds from days and megabytes from terabytes:

- time of one configuration: ``steps * (STEP_S + PARAM_S * P + MAC_S * B * P + UNIT_S * B * U)``
  with P parameters, batch B and U units (the sum of the layer sizes);
- memory of one worker: ``WORKER_BYTES + PARAM_BYTES * P + UNIT_BYTES * B * U`` (scratch, the
  twin, the float64 oracle, gradients, optimizer state and comparison temporaries);
- memory of the report (held by the main process): ``ROW_BYTES`` per record row, one row per
  compared tensor per step.

Limits: more than ``MAX_STEPS`` steps, or an estimated time above ``MAX_HOURS``, is refused
unless ``allow_long``; memory beyond what the machine has available is always refused.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from nnparity.scratch import Spec
from nnparity.scratch.errors import NNParityError

from .sweep import SMALL_SWEEP

MAX_STEPS = 10_000  # per configuration, unless allow_long
MAX_HOURS = 24.0  # estimated sweep time, unless allow_long
STEP_S = 0.012  # per step: comparisons and records of a tiny network (measured 0.011)
PARAM_S = 1e-6  # per step and parameter (measured 8e-7)
MAC_S = 2e-9  # per step and multiply-add of batch x parameters, three sides
UNIT_S = 2e-7  # per step and batch x unit (measured 1.5e-7)
WORKER_BYTES = 400e6  # a worker with NumPy and torch loaded (measured about 320 MB)
PARAM_BYTES = 480  # per parameter (measured 430 with adam and the float64 oracle)
UNIT_BYTES = 40  # per batch x unit (measured 32)
ROW_BYTES = 2_500  # per record row, outcomes + frame + writing (measured 2,200)


class ResourceError(NNParityError):
    """A sweep that cannot fit in this machine's memory, or in the step and time limits."""


@dataclass(frozen=True)
class Estimate:
    """A sweep's estimated cost: wall seconds with ``workers`` processes, the largest worker's
    bytes, the report's bytes, and the configuration that needs the most memory."""

    seconds: float
    worker_bytes: float
    report_bytes: float
    rows: int
    workers: int
    largest: str

    def text(self) -> str:
        """``about 25 s with 2 workers``."""
        w = f"{self.workers} worker{'s' if self.workers > 1 else ''}"
        return f"about {duration(self.seconds)} with {w}"


def parameters(spec: Spec) -> int:
    """P = sum over layers of (fan_in + bias) * fan_out (a layered spec: its arrays' sizes)."""
    s = spec.sizes
    if spec.layered:
        from nnparity.reference.resources import sizes_of

        return sizes_of(spec)[1]
    return sum((a + int(spec.bias)) * b for a, b in zip(s[:-1], s[1:], strict=True))


@lru_cache(maxsize=256)
def _rows_per_step(n_params: int, opt: str) -> int:
    import numpy as np

    from nnparity.scratch import optimizers

    choice = Spec.parse(f"1-1 identity opt={opt}").opt
    fake = {f"p{i}": np.zeros(1) for i in range(n_params)}
    state = optimizers[choice.name].build(choice.kwargs).init(fake)
    bufs = sum(len(v) for v in state._asdict().values() if isinstance(v, dict))
    return 2 + 2 * n_params + bufs + 1  # forward, loss, grads, updates, state, step


def rows_per_step(spec: Spec) -> int:
    """Record rows of one step: forward, loss, each gradient and updated parameter, each
    optimizer-state buffer and the step count (an upper bound by one for SGD)."""
    return _rows_per_step(spec.n_layers * (2 if spec.bias else 1), str(spec.opt))


def config_seconds(spec: Spec, steps: int) -> float:
    """Estimated seconds of one configuration on one core (see the module docstring)."""
    p, bu = parameters(spec), spec.batch * _units(spec)
    return steps * (STEP_S + PARAM_S * p + MAC_S * spec.batch * p + UNIT_S * bu)


def config_bytes(spec: Spec) -> float:
    """Estimated peak bytes of a worker running one configuration of ``spec``."""
    return WORKER_BYTES + PARAM_BYTES * parameters(spec) + UNIT_BYTES * spec.batch * _units(spec)


def _units(spec: Spec) -> int:
    """U: the sum of the layer sizes (a layered spec: every layer's output elements)."""
    if spec.layered:
        from nnparity.reference.resources import sizes_of

        return sizes_of(spec)[0]
    return sum(spec.sizes)


def estimate(specs: Sequence[Spec], modes: int, steps: int, jobs: int | None = None) -> Estimate:
    """The cost of sweeping ``specs`` in ``modes`` modes for ``steps`` steps with ``jobs``
    workers (None: as ``sweep`` chooses)."""
    n = len(specs) * modes
    workers = jobs if jobs is not None else (1 if n < SMALL_SWEEP else os.cpu_count() or 1)
    workers = max(1, min(workers, n))
    seconds = modes * sum(config_seconds(s, steps) for s in specs) / workers
    rows = modes * steps * sum(rows_per_step(s) for s in specs)
    big = max(specs, key=config_bytes) if specs else None
    return Estimate(
        seconds,
        config_bytes(big) if big is not None else 0.0,
        float(rows * ROW_BYTES),
        rows,
        workers,
        str(big) if big is not None else "",
    )


def available_memory() -> float | None:
    """Bytes this process can still use: MemAvailable (Linux), capped by a cgroup v2 limit;
    the free physical memory elsewhere; None when unknown."""
    found: list[float] = []
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    found.append(float(line.split()[1]) * 1024)
    except OSError:
        try:
            found.append(float(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")))
        except (ValueError, OSError, AttributeError):
            pass
    try:
        with open("/sys/fs/cgroup/memory.max", encoding="ascii") as f:
            cap = f.read().strip()
        with open("/sys/fs/cgroup/memory.current", encoding="ascii") as f:
            used = float(f.read().strip())
        if cap != "max":
            found.append(float(cap) - used)
    except (OSError, ValueError):
        pass
    return min(found) if found else None


def check(
    specs: Sequence[Spec],
    modes: int,
    steps: int,
    jobs: int | None = None,
    *,
    allow_long: bool = False,
    memory: float | None = None,
) -> Estimate:
    """The sweep's ``Estimate``, or ``ResourceError`` naming the limit it exceeds and the way
    out. ``memory``: the bytes available (default: ``available_memory()``)."""
    if steps > MAX_STEPS and not allow_long:
        raise ResourceError(
            f"{steps:,} steps per configuration is above the limit of {MAX_STEPS:,}; choose "
            f"fewer, or pass --allow-long if a run this long is really meant"
        )
    est = estimate(specs, modes, steps, jobs)
    avail = available_memory() if memory is None else memory
    if avail is not None:
        if est.worker_bytes > avail:
            raise ResourceError(
                f"one run of '{est.largest}' needs about {size(est.worker_bytes)} of memory, "
                f"more than the {size(avail)} available; choose a smaller batch or smaller "
                "layer sizes"
            )
        configs = f"{len(specs) * modes:,} configurations x {steps:,} step(s)"
        if est.report_bytes + est.worker_bytes > avail:
            raise ResourceError(
                f"{est.rows:,} record rows ({configs}) need about {size(est.report_bytes)} of "
                f"memory, more than the {size(avail)} available; choose fewer steps or "
                "configurations (a matrix file, see --help)"
            )
        if est.workers * est.worker_bytes + est.report_bytes > avail:
            raise ResourceError(
                f"{est.workers} workers of about {size(est.worker_bytes)} each, beside "
                f"{size(est.report_bytes)} of records, need more than the {size(avail)} of "
                "memory available; choose fewer --jobs"
            )
    if est.seconds > MAX_HOURS * 3600 and not allow_long:
        raise ResourceError(
            f"this sweep would take {est.text()} (estimated from the sizes, batch and steps), "
            f"above the limit of {MAX_HOURS:g} hours; choose fewer steps, a smaller batch or "
            "fewer configurations, or pass --allow-long if it is really meant"
        )
    return est


def size(n: float) -> str:
    """``1.5 GB``: bytes in the largest unit that keeps the number at least 1."""
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:,.3g} {unit}" if n / scale < 1000 else f"{n / scale:,.0f} {unit}"
    return f"{n:.0f} B"


def duration(s: float) -> str:
    """``25 s``, ``4.2 min``, ``3.1 h``, ``12 days``."""
    if not math.isfinite(s):
        return "forever"
    if s < 90:
        return f"{max(s, 1):.0f} s"
    if s < 5400:
        return f"{s / 60:.2g} min"
    if s < 3 * 86400:
        return f"{s / 3600:.2g} h"
    return f"{s / 86400:,.0f} days"
