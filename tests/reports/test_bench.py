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


def test_bench_quick_json_runs_end_to_end(capsys, tmp_path):
    assert main(["bench", "--quick", "--json", "--repeats", "1"]) == 0
    out = json.loads(capsys.readouterr().out)
    specs = {(r["spec"], r["dtype"]) for r in out["train_step"]}
    assert specs == {
        (s, d) for s in ("3-4-1 b4", "64-128-128-10 b64") for d in ("float32", "float64")
    }
    for r in out["train_step"]:
        assert r["threads"] == 1  # tiny sizes: both libraries at one thread
        assert r["ratio_low"] <= r["ratio"] <= r["ratio_high"]
        assert r["bound"] > 0 and r["gemms_s"] > 0
        assert r["over_bound"] > 0 and 0 < r["update_share"] and 0 < r["gemm_share"]
    assert out["gradcheck"][0]["gradcheck_ok"] is True and out["gradcheck"][0]["params"] > 10_000
    assert set(out["cli_start_s"]) == {"nnparity --help", "nnparity list"}
    assert 0 < out["engine"]["engine_vs_floor"]
    # --compare reads it back and reports a change per row (of a kept run: --show, untimed)
    new, old = tmp_path / "new.json", tmp_path / "old.json"
    new.write_text(json.dumps(out))
    out["train_step"][0]["ratio"] *= 2  # as if the old run had been twice as slow
    old.write_text(json.dumps(out))
    assert main(["bench", "--show", str(new), "--json", "--compare", str(old)]) == 0
    changes = json.loads(capsys.readouterr().out)["changes"]
    first = next(c for c in changes if c["what"].startswith("3-4-1 b4 float32"))
    assert first["verdict"] == "better" and first["change"] < 0
    assert len(changes) == len(out["train_step"]) + len(out["layered_step"]) + 2
    # --show prints a kept run as the tables a run prints, timing nothing
    out["engine"]["engine_vs_floor_high"] = 1.08  # one noisy sample above the floor
    old.write_text(json.dumps(out))
    assert main(["bench", "--show", str(old)]) == 0
    shown = capsys.readouterr().out
    assert "3-4-1 b4" in shown and "64-128-128-10 b64" in shown and "gradcheck" in shown
    assert "108%" not in shown and "one sample above 100% is noise" in shown
    assert main(["bench", "--show", str(new), "--compare", str(old)]) == 0  # as tables
    shown = capsys.readouterr().out
    assert f"against {old}:" in shown and "better" in shown


def test_ratio_stats_pairs_samples():
    st = bench.ratio_stats([2.0, 4.0, 9.0], [1.0, 2.0, 3.0])
    assert st == {"median": 2.0, "low": 2.0, "high": 3.0}


def test_warm_samples_time_each_block_after_an_untimed_call_of_its_own(monkeypatch):
    """``warm``: the call before each timed block is the same fn's (a step after a step), and
    is left out of the time; the pairs stay interleaved. On a clock that only calls move, the
    warm calls cost 100 and the timed ones 1."""
    clock, calls = [0.0], []
    monkeypatch.setattr(bench.time, "perf_counter", lambda: clock[0])

    def fn(name):
        def call():
            calls.append(name)
            clock[0] += 100.0 if calls.count(name) % 2 else 1.0  # odd calls: the warm ones

        return call

    fns = {"a": fn("a"), "b": fn("b")}
    s = bench.paired(fns, 2, 1, warm=True)
    assert calls == ["a", "a", "b", "b"] * 2
    assert s == {"a": [1.0, 1.0], "b": [1.0, 1.0]}
    calls.clear()
    assert bench.paired(fns, 2, 1)["a"] == [100.0, 1.0] and calls == ["a", "b"] * 2  # all timed


@pytest.mark.parametrize(
    "old, new, lower, verdict",
    [(1.0, 0.5, True, "better"), (1.0, 1.5, True, "worse"), (1.0, 1.02, True, "same (within 5%)"),
     (0.8, 0.6, False, "worse"), (0.6, 0.8, False, "better")],
)  # fmt: skip
def test_a_change_is_judged_by_its_direction(old, new, lower, verdict):
    assert bench._change("x", old, new, lower)["verdict"] == verdict


def test_compare_names_an_unreadable_file(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("not json")
    assert main(["bench", "--quick", "--compare", str(bad)]) == 2
    assert "nnparity bench --json" in capsys.readouterr().err


@pytest.mark.parametrize("sizes, batch", [((3, 4, 2), 5), ((64, 128, 128, 10), 64)])
def test_the_gemm_bound_times_the_steps_own_products(sizes, batch):
    shapes = bench.gemm_shapes(sizes, batch)
    assert sum(2 * m * k * n for m, k, n in shapes) == bench.step_flops(sizes, batch)
    assert len(shapes) == 3 * (len(sizes) - 1) - 1  # the first layer computes no da


@pytest.mark.parametrize("sizes, batch", [((3, 4, 2), 5), ((6, 9, 7, 3), 4)])
def test_the_gemm_bound_lays_operands_out_as_scratchs_step(sizes, batch):
    from nnparity.scratch import Spec, build, make_data

    acts = ",".join(["tanh"] * (len(sizes) - 1))
    spec = Spec.parse("-".join(map(str, sizes)) + f" {acts} batch={batch}")
    net = build(spec)
    params = net.init_params()
    X, _ = make_data(spec)
    _, cache = net._forward(params, X)
    want = []  # per layer: forward a @ W, dW = a.T @ dz (dz laid out as z), da = dz @ W.T
    for l, (a_prev, z, _) in enumerate(cache, start=1):
        W = params[f"W{l}"]
        want += [(a_prev, W), (a_prev.T, z)] + ([(z, W.T)] if l > 1 else [])

    def layout(x):
        return x.shape, x.flags.c_contiguous, x.flags.f_contiguous

    ops = bench.gemm_operands(bench.gemm_shapes(sizes, batch), "float64", bench.step_layouts(sizes))
    assert [tuple(map(layout, op)) for op in ops] == [tuple(map(layout, w)) for w in want]


@pytest.mark.parametrize("sizes", [(3, 4, 2), (64, 128, 128, 10)])
def test_the_update_in_the_bound_passes_over_every_parameter(sizes):
    from nnparity.scratch import Spec, build

    spec = Spec.parse(
        "-".join(map(str, sizes)) + " tanh" + ",tanh" * (len(sizes) - 3) + ",identity"
    )
    params = build(spec).init_params()
    assert sorted(bench.update_shapes(sizes)) == sorted(p.shape for p in params.values())


def test_a_kept_run_from_before_the_update_bound_still_shows(capsys, tmp_path):
    row = {"spec": "3-4-1 b4", "dtype": "float64", "threads": 1, "scratch_s": 2e-5,
           "torch_s": 1e-4, "ratio": 0.2, "ratio_low": 0.19, "ratio_high": 0.21, "bound": 0.05,
           "gemm_share": 0.25, "noisy": False}  # fmt: skip
    from nnparity.reports.cmd_bench import _over_bound, _shares

    assert _over_bound(row) == pytest.approx(4.0) and _shares(row) == "25%"
    row |= {"over_bound": 3.5, "update_share": 0.1}
    assert _over_bound(row) == 3.5 and _shares(row) == "25%, 10%"
