"""Refuse a run that cannot fit in memory before it starts, with the limit in the message.

The estimate is deliberately simple and on the high side. Per step, each of up to five sides
(scratch, the PyTorch twin, the float64 oracle, the round-off envelope and its optimizer probe)
holds about ``ARRAYS_PER_UNIT`` arrays of batch x width per layer (inputs, pre-activations,
activations, their gradients, error envelopes) and as many copies of every parameter
(weights, gradients, optimizer state, updated weights, envelope moves), all at most 8 bytes per
element; every comparison keeps a record of about ``RECORD_BYTES`` (and both arrays with
``keep_arrays``). A run is refused when the estimate exceeds ``MEMORY_SHARE`` of the memory the
operating system reports available.
"""

from __future__ import annotations

import os
from functools import lru_cache

from nnparity.scratch import Spec, SpecError

ARRAYS_PER_UNIT = 40
RECORD_BYTES = 2048
MEMORY_SHARE = 0.5
ALWAYS_FITS = 64 * 2**20  # a run estimated below this is not refused: /proc/meminfo unread


def available_bytes() -> int | None:
    """Memory available to a new allocation: MemAvailable from /proc/meminfo, else the free
    physical pages (os.sysconf), else None (unknown: nothing is refused)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


@lru_cache(maxsize=512)  # asked on every run (threads, memory): once per spec
def sizes_of(spec: Spec) -> tuple[int, int, int, int]:
    """(activation elements per sample summed over the layers, learnable elements, arrays per
    step compared, the largest layer's multiply-adds per step) of a dense or layered spec. A
    layered layer's multiply-adds: batch x output elements x fan-in (conv: in x kh x kw)."""
    if not spec.layered:
        pairs = list(zip(spec.sizes, spec.sizes[1:], strict=False))
        n_params = sum(a * b + (b if spec.bias else 0) for a, b in pairs)
        work = max(spec.batch * a * b for a, b in pairs)
        return sum(spec.sizes), n_params, 2 * len(spec.sizes), work
    import numpy as np

    from nnparity.scratch.spec_layers import layer_shapes
    from nnparity.scratch.stack import build_layered

    shapes = layer_shapes(spec)
    blank = lambda rng, shape, fan_in, fan_out: np.empty(shape)  # noqa: E731
    widths = int(np.prod(spec.in_shape)) + sum(int(np.prod(s)) for s in shapes)
    n_params = n_arrays = work = 0
    for slot, out in zip(build_layered(spec).slots, shapes, strict=True):
        arrays = slot.layer.init(None, slot.in_shape, blank, blank, spec.bias)
        n_params += sum(int(a.size) for a in arrays.values())
        n_arrays += len(arrays) + len(slot.layer.buffers(slot.in_shape))
        W = arrays.get("W")
        fan = 1 if W is None else (int(np.prod(W.shape[1:])) if W.ndim == 4 else W.shape[0])
        work = max(work, spec.batch * int(np.prod(out)) * fan)
    return widths, n_params, n_arrays, work


def estimate_bytes(spec: Spec, steps: int, keep_arrays: bool = False) -> int:
    """A high estimate of the bytes ``run_parity(spec, steps)`` needs (a layered spec counts
    every layer's output as a width)."""
    widths, n_params, n_arrays, _ = sizes_of(spec)
    per_run = 8 * ARRAYS_PER_UNIT * (spec.batch * widths + n_params)
    n_records = 4 + n_arrays * 5  # forward, loss, step, eval + per array: grad,
    per_step = n_records * RECORD_BYTES  # update and up to three state fields (or a buffer)
    if keep_arrays:
        per_step += 2 * 8 * 5 * (n_params + spec.batch * spec.out_units)
    return per_run + steps * per_step


def check_resources(spec: Spec, steps: int, keep_arrays: bool = False) -> None:
    """Raise ``SpecError`` when the run's estimated memory exceeds ``MEMORY_SHARE`` of the
    memory available. A run estimated below ``ALWAYS_FITS`` fits wherever PyTorch could be
    imported, and skips the read of /proc/meminfo (a tenth of a tiny run's time)."""
    need = estimate_bytes(spec, steps, keep_arrays)
    if need <= ALWAYS_FITS:
        return
    have = available_bytes()
    if have is None:
        return
    limit = int(MEMORY_SHARE * have)
    if need > limit:
        raise SpecError(
            f"this run would need about {_size(need)} of memory (batch={spec.batch}, "
            f"{_shape(spec)}, {steps} steps), more than the limit of "
            f"{_size(limit)} ({MEMORY_SHARE:.0%} of the {_size(have)} available); lower the "
            "batch, the widths or the number of steps"
        )


def _shape(spec: Spec) -> str:
    if spec.layered:
        return f"input {'x'.join(map(str, spec.in_shape))}, {spec.n_layers} layers"
    return f"widths {'-'.join(map(str, spec.sizes))}"


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if n < 1024 or unit == "PB":
            return f"{n:.3g} {unit}"
        n /= 1024
    return f"{n:.3g} PB"
