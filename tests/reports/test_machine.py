"""The bench names NumPy's BLAS kernels, and warns where a pin overrides NumPy's own choice."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest
from threadpoolctl import threadpool_info

from nnparity.reports import machine as openblas
from nnparity.reports.cmd_bench import caption

MACHINE = {"cpu": "AMD EPYC", "cores": 2, "python": "3.11.7", "numpy": "2.4.6",
           "torch": "2.13.0+cpu", "blas": "OpenBLAS 0.3.31, Haswell kernels"}  # fmt: skip
OPENBLAS_X86 = platform.machine() in ("x86_64", "AMD64") and any(
    i.get("internal_api") == "openblas" for i in threadpool_info()
)


def test_kernels_names_the_blas_numpy_loaded():
    blas = next(i for i in threadpool_info() if i.get("user_api") == "blas")
    shown = openblas.kernels()
    assert blas["version"] in shown
    if blas.get("architecture"):
        assert f"{blas['architecture']} kernels" in shown


def test_no_pin_no_second_interpreter(monkeypatch):
    for pin in openblas.PINS:
        monkeypatch.delenv(pin, raising=False)
    assert openblas.unpinned() is None


def _kernels_under(env: dict[str, str]) -> str:
    code = "from nnparity.reports.machine import *; print(kernels()); print(unpinned())"
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    return run.stdout


@pytest.mark.skipif(not OPENBLAS_X86, reason="pins an x86 OpenBLAS core type")
def test_a_pin_is_seen_and_the_unpinned_choice_asked_apart():
    env = {k: v for k, v in os.environ.items() if k not in openblas.PINS}
    own = _kernels_under(env).splitlines()
    assert own[1] == "None"  # nothing pinned: no second interpreter
    other = "Sandybridge" if "Haswell" in own[0] else "Haswell"  # kernels OpenBLAS did not pick
    pinned, unpinned = _kernels_under(env | {"OPENBLAS_CORETYPE": other}).splitlines()
    assert unpinned == own[0] != pinned


def test_the_caption_warns_where_a_pin_changes_the_kernels():
    pinned = MACHINE | {"pins": {"OPENBLAS_CORETYPE": "Haswell", "OPENBLAS_L2_SIZE": "512"},
                        "unpinned": "OpenBLAS 0.3.31, SkylakeX kernels"}  # fmt: skip
    text = caption(pinned, 7)
    assert "(OpenBLAS 0.3.31, Haswell kernels)" in text
    assert (
        "warning: NumPy's BLAS is pinned by OPENBLAS_CORETYPE=Haswell OPENBLAS_L2_SIZE=512" in text
    )
    assert "unpinned it runs OpenBLAS 0.3.31, SkylakeX kernels" in text
    assert "unset OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE" in text


@pytest.mark.parametrize(
    "machine",
    [
        MACHINE | {"pins": {}, "unpinned": None},  # nothing pinned
        MACHINE | {"pins": {"OPENBLAS_CORETYPE": "Haswell"},
                   "unpinned": "OpenBLAS 0.3.31, Haswell kernels"},  # pinned to its own choice
        {k: v for k, v in MACHINE.items() if k != "blas"},  # a run kept before the field
    ],
)  # fmt: skip
def test_no_warning_where_the_pin_changes_nothing(machine):
    text = caption(machine, 3)
    assert "warning" not in text and "3 paired samples" in text
