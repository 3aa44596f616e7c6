"""Thread handling for alternating NumPy and PyTorch in one process.

Both libraries keep their own thread pools (OpenBLAS for NumPy, OpenMP/MKL for torch). When
they alternate on small arrays, each pool's spinning threads compete with the other's and a
2-core machine runs up to four busy threads. ``threads_for(spec)`` picks 1 thread for specs
whose largest layer product is small (threading cannot pay there) and leaves the defaults
otherwise; ``limited(n)`` applies a count to both libraries and restores them afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

import torch
from threadpoolctl import ThreadpoolController

from scratch import Spec

SMALL_WORK = 1 << 18  # batch * in * out of the largest layer below which 1 thread wins


@lru_cache(maxsize=1)
def _controller() -> ThreadpoolController:
    return ThreadpoolController()


def threads_for(spec: Spec) -> int | None:
    """1 for small specs, None (library defaults) for large ones."""
    work = max(spec.batch * a * b for a, b in zip(spec.sizes[:-1], spec.sizes[1:], strict=False))
    return 1 if work < SMALL_WORK else None


@contextmanager
def limited(n: int | None) -> Iterator[None]:
    """Run the block with ``n`` threads in NumPy's BLAS and in torch (None: change nothing)."""
    if n is None:
        yield
        return
    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        with _controller().limit(limits=n, user_api="blas"):
            yield
    finally:
        torch.set_num_threads(old)
