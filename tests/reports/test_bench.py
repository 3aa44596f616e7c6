"""``nnparity bench``: what it times is the same work on both sides, and the command runs.

No wall-clock assertion here: speed is measured by the benchmark, never asserted by a test."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nnparity.reports import bench
from nnparity.reports.cli import main


def test_step_flops_counts_forward_and_backward_products():
    # 3-4-1, batch 4: forward 2*4*(3*4 + 4*1), dW 2*4*(3*4 + 4*1), da of layer 2 only 2*4*4*1.
    assert bench.step_flops((3, 4, 1), 4) == 2 * 4 * 16 + 2 * 4 * 16 + 2 * 4 * 4


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_timed_steps_are_the_same_step(dtype):
    pair = bench.step_pair("6-9-9-3", 5, dtype)
    before = {k: v.copy() for k, v in pair.scratch_params().items()}
    for _ in range(3):
        pair.scratch_step()
        pair.torch_step()
    mine, theirs = pair.scratch_params(), pair.torch_params()
    assert any(not np.array_equal(before[k], mine[k]) for k in mine), "no step was taken"
    tol = 1e-5 if dtype == "float32" else 1e-12
    for k in mine:
        assert mine[k].dtype == theirs[k].dtype == np.dtype(dtype)
        np.testing.assert_allclose(mine[k], theirs[k], rtol=tol, atol=tol, err_msg=k)


def test_bench_quick_json_runs_end_to_end(capsys):
    assert main(["bench", "--quick", "--json", "--repeats", "1"]) == 0
    out = json.loads(capsys.readouterr().out)
    specs = {(r["spec"], r["dtype"]) for r in out["train_step"]}
    assert specs == {
        (s, d) for s in ("3-4-1 b4", "64-128-128-10 b64") for d in ("float32", "float64")
    }
    for r in out["train_step"]:
        assert r["ratio"] == pytest.approx(r["scratch_s"] / r["torch_s"])
    assert out["gradcheck"][0]["gradcheck_ok"] is True and out["gradcheck"][0]["params"] > 10_000
    assert set(out["cli_start_s"]) == {"nnparity --help", "nnparity list"}
    assert 0 < out["engine"]["engine_vs_floor"]
