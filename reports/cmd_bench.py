"""``nnparity bench [--json] [--quick]``: scratch and the parity engine against PyTorch."""

from __future__ import annotations

import argparse
import sys


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print JSON instead of tables")
    p.add_argument(
        "--quick",
        action="store_true",
        help="skip the two large sizes and default-mode gradcheck (seconds, not minutes)",
    )
    p.add_argument("--repeats", type=int, default=5, help="repeats per block (default 5)")


def run(args: argparse.Namespace) -> int:
    from tabulate import tabulate

    from nnparity.reports import bench

    def say(msg: str) -> None:
        if not args.json:
            print(msg, file=sys.stderr, flush=True)

    out: dict = {"machine": bench.machine()}
    say("measuring NumPy's peak GEMM ...")
    peak = {dt: bench.peak_gemm(dt) for dt in ("float32", "float64")}
    out["peak_gemm_gflops"] = peak
    sizes = bench.SIZES[:2] if args.quick else bench.SIZES
    rows = []
    for sz, b in sizes:
        for dt in ("float32", "float64"):
            say(f"train step {sz} b{b} {dt} ...")
            r = bench.train_step_ratio(sz, b, dt, args.repeats)
            r["peak_fraction"] = r["scratch_gflops"] / peak[dt]
            # the lowest ratio possible: the step's GEMMs alone at NumPy's peak, over torch's step
            r["ratio_bound"] = r["gflop"] / peak[dt] / r["torch_s"]
            rows.append(r)
    out["train_step"] = rows
    say("parity engine throughput ...")
    out["engine"] = bench.engine_throughput(args.repeats)
    say("gradcheck ...")
    out["gradcheck"] = [bench.gradcheck_ratio(True)]
    if not args.quick:
        out["gradcheck"].append(bench.gradcheck_ratio(False))
    say("CLI start-up ...")
    out["cli_start_s"] = {
        "nnparity --help": bench.cli_start(["--help"]),
        "nnparity list": bench.cli_start(["list"]),
    }
    if args.json:
        from nnparity.reports.jsonout import dumps

        print(dumps(out))
        return 0
    m = out["machine"]
    print(
        f"machine: {m['cpu']}, {m['cores']} cores; Python {m['python']}, NumPy {m['numpy']}, "
        f"torch {m['torch']}; NumPy peak GEMM f32 {peak['float32']:.0f} GFLOP/s, "
        f"f64 {peak['float64']:.0f} GFLOP/s\n"
    )
    print(
        tabulate(
            [
                {
                    "spec": r["spec"],
                    "dtype": r["dtype"],
                    "scratch ms": r["scratch_s"] * 1e3,
                    "torch ms": r["torch_s"] * 1e3,
                    "scratch / torch": r["ratio"],
                    "bound": r["ratio_bound"],
                    "scratch GFLOP/s": r["scratch_gflops"],
                    "of NumPy peak": f"{r['peak_fraction']:.0%}",
                    "GEMM NumPy / torch": r["gemm_ratio"],
                }
                for r in rows
            ],
            headers="keys",
            floatfmt=".3g",
        )
    )
    print(
        "bound: the step's GEMMs alone at NumPy's peak, over torch's step time; scratch / torch "
        "cannot go below it.\nGEMM NumPy / torch: the largest layer's product alone, NumPy's "
        "time over torch's."
    )
    e = out["engine"]
    print(
        f"\nparity engine, tiny specs: {e['engine_cps']:.0f} configs/s; floor "
        f"{e['floor_cps']:.0f}/s ({e['engine_vs_floor']:.0%} of the floor); default threads "
        f"{e['engine_default_threads_cps']:.0f}/s (thread handling costs "
        f"{e['thread_handling_cost']:+.0%})"
    )
    for g in out["gradcheck"]:
        mode = "fast_mode" if g["fast_mode"] else "default"
        print(
            f"gradcheck ({mode}) of {g['params']} parameters: {g['gradcheck_s']:.3g} s; one "
            f"parity step {g['parity_s'] * 1e3:.3g} ms: {g['ratio']:.0f}x cheaper"
        )
    for k, v in out["cli_start_s"].items():
        print(f"{k}: {v * 1e3:.0f} ms")
    return 0
