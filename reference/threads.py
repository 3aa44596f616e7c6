"""Thread handling for alternating NumPy and PyTorch in one process.

Both libraries keep their own thread pools (OpenBLAS for NumPy, OpenMP/MKL for torch). When
they alternate on small arrays, each pool's spinning threads compete with the other's and a
2-core machine runs up to four busy threads. ``threads_for(spec)`` picks 1 thread unless the
largest layer's batch x in x out reaches 2^30, and ``limited(n)`` applies a count to both
libraries and restores them afterwards. Measured on 2 cores (5 free-running float32 steps,
oracle on): 64-128-128-10 b64 30 ms with 1 thread, 94 ms with the defaults; 256-512-512-10
b128 233 ms vs 289 ms; 784-1024-1024-10 b256 554 ms vs 606 ms; only at 1024-2048-2048-10 b512
do two threads win (2.7 s vs 2.9 s).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

import torch
from threadpoolctl import ThreadpoolController

from nnparity.scratch import Spec

from .resources import sizes_of

SMALL_WORK = 1 << 30  # batch * in * out of the largest layer below which 1 thread wins


@lru_cache(maxsize=1)
def _controller() -> ThreadpoolController:
    return ThreadpoolController()


def threads_for(spec: Spec) -> int | None:
    """1 below ``SMALL_WORK``, None (the libraries' defaults) above."""
    work = sizes_of(spec)[3]
    return 1 if work < SMALL_WORK else None


@contextmanager
def limited(n: int | None) -> Iterator[None]:
    """Run the block with ``n`` threads in NumPy's BLAS and in torch (None: change nothing)."""
    if n is None:
        yield
        return
    blas = [c for c in _controller().lib_controllers if c.user_api == "blas"]
    old = torch.get_num_threads()
    old_blas = [c.num_threads for c in blas]
    # each library's own setter (2 us, where ThreadpoolController.limit takes 25), and only
    # where the count changes: setting the count a pool already has still costs its next
    # call (torch's set_num_threads made a one-step run 290 us slower at 1 thread already)
    if old != n:
        torch.set_num_threads(n)
    for c, k in zip(blas, old_blas, strict=True):
        if k != n:
            c.set_num_threads(n)
    try:
        yield
    finally:
        if old != n:
            torch.set_num_threads(old)
        for c, k in zip(blas, old_blas, strict=True):
            if k != n:
                c.set_num_threads(k)
