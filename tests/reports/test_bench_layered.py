"""``nnparity bench``'s layered rows: paired samples on the wall clock and the CPU clock.

No speed assertion here: speed is measured by the benchmark, never asserted by a test."""

from __future__ import annotations

import time

from nnparity.reports import bench_layered


def test_the_cpu_clock_leaves_out_waiting_and_the_wall_clock_counts_it():
    def busy() -> None:
        sum(range(20_000))

    wall, cpu = bench_layered.paired_cpu({"sleep": lambda: time.sleep(0.01), "busy": busy}, 2, 2)
    assert len(wall["sleep"]) == len(cpu["sleep"]) == 2
    for w, c in zip(wall["sleep"], cpu["sleep"], strict=True):
        assert w >= 0.01 and c < 0.5 * w  # sleeping takes wall time, not CPU time
    assert all(c > 0 for c in cpu["busy"])


def test_a_layered_row_reports_both_clocks_against_its_target():
    text, batch, target = bench_layered.LAYERED[1]
    r = bench_layered.layered_step_ratio(text, batch, "float32", 2, target)
    assert r["spec"].startswith("64 dense(256) batchnorm relu") and r["threads"] == 1
    assert r["ratio_low"] <= r["ratio"] <= r["ratio_high"]
    assert r["cpu_ratio_low"] <= r["cpu_ratio"] <= r["cpu_ratio_high"]
    assert r["cpu_scratch_s"] > 0 and r["cpu_torch_s"] > 0
    assert r["meets"] == (r["ratio"] <= target) and r["meets_cpu"] == (r["cpu_ratio"] <= target)
    assert 0 < r["bound"] and 0 < r["gemm_share"]


def test_the_layered_gemm_bound_counts_the_products_scratch_computes():
    from nnparity.reports import bench
    from nnparity.scratch import Spec

    dense = Spec.parse("64 dense(256) batchnorm relu dense(10) batch=32")
    assert bench_layered.layered_gemm_shapes(dense) == bench.gemm_shapes((64, 256, 10), 32)
    conv = Spec.parse("1x8x8 conv(4,k=3,pad=1) relu conv(2,k=3,stride=2) flatten dense(3) batch=5")
    # conv1 on 1x8x8 -> 4x8x8 (first layer: no input gradient); conv2 on 4x8x8 -> 2x3x3
    assert bench_layered.layered_gemm_shapes(conv) == [
        (4, 9, 64 * 5), (9, 64 * 5, 4),
        (2, 36, 9 * 5), (36, 9 * 5, 2), (36, 2, 9 * 5),
        (5, 18, 3), (18, 5, 3), (5, 3, 18),
    ]  # fmt: skip


def test_compare_shows_a_layered_rows_change():
    from nnparity.reports import bench

    row = {"spec": "64 dense(256) b256", "dtype": "float32", "ratio": 1.0}
    (change,) = bench.changes({"layered_step": [row]}, {"layered_step": [{**row, "ratio": 1.3}]})
    assert change["verdict"] == "worse" and "64" in change["what"]
