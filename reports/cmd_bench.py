"""``nnparity bench [--json] [--quick] [--compare OLD.json]``: scratch and the parity engine
against PyTorch."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from nnparity.scratch.errors import NNParityError


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print JSON (keep it to --compare later)")
    p.add_argument(
        "--quick",
        action="store_true",
        help="skip the two large sizes and default-mode gradcheck (about 10 s instead of 60)",
    )
    p.add_argument("--repeats", type=int, default=7, help="paired samples per figure (default 7)")
    p.add_argument(
        "--show",
        metavar="RUN.json",
        type=Path,
        help="print a run kept with --json as tables, or with --compare its change against "
        "another kept run (nothing is timed)",
    )
    p.add_argument(
        "--compare",
        metavar="OLD.json",
        type=Path,
        help="also print the change of each row against an earlier `nnparity bench --json`",
    )


def run(args: argparse.Namespace) -> int:
    from nnparity.reports import bench, bench_layered
    from nnparity.reports.machine import machine

    if args.repeats < 1:
        raise NNParityError(f"--repeats must be >= 1, got {args.repeats}")
    old = _read(args.compare) if args.compare is not None else None
    if args.show is not None:  # a kept run, against another kept one with --compare
        return _emit(_read(args.show), old, args)

    def say(msg: str) -> None:
        if not args.json:
            print(msg, file=sys.stderr, flush=True)

    out: dict = {"machine": machine(), "repeats": args.repeats}
    sizes = bench.SIZES[:2] if args.quick else bench.SIZES
    rows = []
    for sz, b in sizes:
        for dt in ("float32", "float64"):
            say(f"train step {sz} b{b} {dt} ...")
            rows.append(bench.train_step_ratio(sz, b, dt, args.repeats))
    out["train_step"] = rows
    layered = []
    for text, b, target in bench_layered.LAYERED:
        say(f"layered step {text.split(' loss=')[0]} b{b} float32 ...")
        layered.append(bench_layered.layered_step_ratio(text, b, "float32", args.repeats, target))
    out["layered_step"] = layered
    say("parity engine throughput ...")
    out["engine"] = bench.engine_throughput(args.repeats)
    say("gradcheck ...")
    out["gradcheck"] = [bench.gradcheck_ratio(True, args.repeats)]
    if not args.quick:
        out["gradcheck"].append(bench.gradcheck_ratio(False, args.repeats))
    say("CLI start-up ...")
    out["cli_start_s"] = {
        "nnparity --help": bench.cli_start(["--help"]),
        "nnparity list": bench.cli_start(["list"]),
    }
    return _emit(out, old, args)


def _emit(out: dict, old: dict | None, args: argparse.Namespace) -> int:
    """Print ``out`` (with its change per row against ``old``) as JSON or tables."""
    from nnparity.reports import bench

    if old is not None:
        out["changes"] = bench.changes(old, out)
    if args.json:
        from nnparity.reports.jsonout import dumps

        print(dumps(out))
        return 0
    render(out, args.compare)
    return 0


def caption(m: dict, repeats: int) -> str:
    """The machine a run was timed on, and a warning where NumPy's BLAS kernels were pinned to
    others than it picks itself (the figures then hold for the pinned ones)."""
    blas = f" ({m['blas']})" if m.get("blas") else ""  # runs kept before 2026-12-05 lack it
    text = (
        f"machine: {m['cpu']}, {m['cores']} cores; Python {m['python']}, NumPy {m['numpy']}{blas}, "
        f"torch {m['torch']}; {repeats} paired samples per figure"
    )
    pins = m.get("pins") or {}
    if pins and m.get("unpinned") not in (None, m.get("blas")):
        text += (
            f"\nwarning: NumPy's BLAS is pinned by {' '.join(f'{k}={v}' for k, v in pins.items())};"
            f" unpinned it runs {m['unpinned']}. These figures hold for the pinned kernels: unset"
            f" {' and '.join(pins)} to time NumPy's own choice."
        )
    return text


def render(out: dict, compared: Path | None = None) -> None:
    """Print a ``nnparity bench`` result (a run's, or one kept with ``--json``) as tables."""
    from tabulate import tabulate

    rows = out["train_step"]
    print(caption(out["machine"], out["repeats"]) + "\n")
    print(
        tabulate(
            [
                {
                    "spec": r["spec"],
                    "dtype": r["dtype"],
                    "threads": r["threads"],
                    "scratch ms": r["scratch_s"] * 1e3,
                    "torch ms": r["torch_s"] * 1e3,
                    "scratch / torch": f"{r['ratio']:.3g} ({r['ratio_low']:.3g}-"
                    f"{r['ratio_high']:.3g})",
                    "bound": r["bound"],
                    "scratch / bound": "noisy" if r["noisy"] else f"{_over_bound(r):.2f}",
                    "GEMMs, update of step": "noisy" if r["noisy"] else _shares(r),
                }
                for r in rows
            ],
            headers="keys",
            floatfmt=".3g",
        )
    )
    print("\nlayered steps (one thread each; target: scratch / torch at most)")
    print(tabulate(_layered_rows(out["layered_step"]), headers="keys", floatfmt=".3g"))
    print(
        "CPU ms, on CPU clock: the same samples on the calling thread's CPU clock (scratch / "
        "torch), which leaves out the time\nother processes held the core; meets: on the wall "
        "clock / on the CPU clock."
    )
    print(
        "scratch / torch: median of the paired samples (lowest-highest). bound: the step's own "
        "GEMMs and one in-place pass over its\nweights (p += g, the update's least traffic) in "
        "NumPy, over torch's step: work no step can skip, so scratch / torch cannot go below "
        "it.\nscratch / bound: scratch's step over that work (1.00 = nothing else costs). "
        "GEMMs, update of step: their shares of scratch's\nstep. Both libraries run at the "
        "thread count shown."
    )
    if any(r["noisy"] for r in rows):
        print(
            "warning: the machine was noisy (a ratio below its bound, or the bound longer than the "
            "step); rerun on a quiet machine or with more --repeats",
            file=sys.stderr,
        )
    e = out["engine"]
    share = "noisy" if e["noisy"] else f"{e['engine_vs_floor']:.0%} of the floor"
    print(
        f"\nparity engine, tiny specs, 1 thread: {e['engine_cps']:.0f} configs/s; floor "
        f"{e['floor_cps']:.0f}/s ({share}, samples {_samples(e)}); thread handling per call costs "
        f"{e['thread_handling_cost']:+.0%} against one outer limit"
    )
    for g in out["gradcheck"]:
        mode = "fast_mode" if g["fast_mode"] else "default"
        print(
            f"gradcheck ({mode}) of {g['params']} parameters, warm, 1 thread: "
            f"{g['gradcheck_s']:.3g} s; one parity step {g['parity_s'] * 1e3:.3g} ms: "
            f"{g['ratio']:.0f}x"
        )
    print(
        "(gradcheck holds PyTorch's autograd to finite differences of PyTorch's own function; a "
        "parity step holds scratch's forward, loss, gradients, update and optimizer state to "
        "PyTorch's)"
    )
    for k, v in out["cli_start_s"].items():
        print(f"{k}: {v * 1e3:.0f} ms")
    if out.get("changes"):
        print(f"\nagainst {compared}:")
        print(tabulate(out["changes"], headers="keys", floatfmt=".3g"))


def _over_bound(r: dict) -> float:
    """Scratch's step over its bound; a file from before the bound took the update had none."""
    return r.get("over_bound", r["ratio"] / r["bound"])


def _shares(r: dict) -> str:
    update = f", {r['update_share']:.0%}" if "update_share" in r else ""
    return f"{r['gemm_share']:.0%}{update}"


def _samples(e: dict) -> str:
    """The engine's range of samples against its floor; one above 100% is said as noise."""
    low, high = e["engine_vs_floor_low"], e["engine_vs_floor_high"]
    if high > 1:
        return f"{low:.0%} and up: one sample above 100% is noise"
    return f"{low:.0%}-{high:.0%}"


def _read(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise NNParityError(
            f"cannot read {path} ({e}); give a file written by `nnparity bench --json`"
        ) from None


def _layered_rows(rows: list[dict]) -> list[dict]:
    return [
        {
            "spec": r["spec"],
            "dtype": r["dtype"],
            "scratch ms": r["scratch_s"] * 1e3,
            "torch ms": r["torch_s"] * 1e3,
            "scratch / torch": f"{r['ratio']:.3g} ({r['ratio_low']:.3g}-{r['ratio_high']:.3g})",
            "CPU ms": f"{r['cpu_scratch_s'] * 1e3:.3g} / {r['cpu_torch_s'] * 1e3:.3g}",
            "on CPU clock": f"{r['cpu_ratio']:.3g} ({r['cpu_ratio_low']:.3g}-"
            f"{r['cpu_ratio_high']:.3g})",
            "bound": r["bound"],
            "GEMMs of step": f"{r['gemm_share']:.0%}",
            "target": r["target"],
            "meets": ("yes" if r["meets"] else "no") + " / " + ("yes" if r["meets_cpu"] else "no"),
        }
        for r in rows
    ]
