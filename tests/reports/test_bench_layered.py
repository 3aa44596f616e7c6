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
