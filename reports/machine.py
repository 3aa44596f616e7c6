"""The machine a benchmark ran on: CPU, libraries, and the BLAS kernels NumPy runs and would
run were they not pinned.

OpenBLAS picks its kernels from the CPU when it loads (NumPy's wheels are DYNAMIC_ARCH builds);
``OPENBLAS_CORETYPE`` overrides the choice, and some machines set it (with
``OPENBLAS_L2_SIZE``) because older OpenBLAS builds misjudge their CPU. A current NumPy's own
choice can be faster: on a Zen 5 EPYC pinned to Haswell's AVX2 kernels, scratch's
64-128-128-10 float64 step takes 0.227 ms, 0.164 ms on the SkylakeX kernels OpenBLAS 0.3.31
picks unpinned. A benchmark's figures hold for the kernels that ran, so the bench names them.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from typing import Any

PINS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
_SHOW = "from nnparity.reports.machine import kernels\nprint(kernels())"


def machine() -> dict[str, Any]:
    """CPU, cores and library versions, for the table's caption."""
    import numpy as np
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if "model name" in line)
    except (OSError, StopIteration):
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "blas": kernels(),
        "pins": {k: os.environ[k] for k in PINS if k in os.environ},
        "unpinned": unpinned(),
        "torch": torch.__version__,
    }


def kernels() -> str:
    """NumPy's BLAS and its kernels, e.g. ``OpenBLAS 0.3.31, SkylakeX kernels``."""
    import numpy  # noqa: F401  (its BLAS must be loaded to be seen)
    from threadpoolctl import threadpool_info

    found = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    blas = next((i for i in found if "numpy" in i.get("filepath", "")), found[0] if found else None)
    if blas is None:
        return "BLAS unknown"
    name = {"openblas": "OpenBLAS", "mkl": "MKL"}.get(blas["internal_api"], blas["internal_api"])
    version = f" {blas['version']}" if blas.get("version") else ""
    arch = f", {blas['architecture']} kernels" if blas.get("architecture") else ""
    return f"{name}{version}{arch}"


def unpinned() -> str | None:
    """:func:`kernels` in a fresh interpreter without :data:`PINS`; None where none is set."""
    if not any(p in os.environ for p in PINS):
        return None
    env = {k: v for k, v in os.environ.items() if k not in PINS}
    run = subprocess.run(
        [sys.executable, "-c", _SHOW], env=env, capture_output=True, text=True, timeout=60
    )
    return run.stdout.strip() if run.returncode == 0 else "unknown (it failed to start)"
