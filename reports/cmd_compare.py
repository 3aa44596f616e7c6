"""``nnparity compare SPEC``: one spec, scratch against its PyTorch twin, step by step.

``--against torch,jax`` (default torch) holds scratch to each framework named, a table per
framework, and with both a triangulated verdict line (scratch vs torch, scratch vs jax, torch
vs jax) naming the odd one out. Exit 0 when scratch matches every framework asked, else 1
(the verdict line says whether scratch or a framework is the odd one out).
"""

from __future__ import annotations

import argparse
from typing import Any


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "spec",
        help="a spec in its one-line form, quoted, e.g. "
        "'3-4-1 tanh,sigmoid loss=bce opt=sgd(lr=0.1)'",
    )
    p.add_argument("--steps", type=int, default=5, help="training steps to run (default 5)")
    p.add_argument(
        "--mode",
        choices=("free", "resync"),
        default="free",
        help="free: each side follows its own trajectory; resync: the twin is reset "
        "to scratch before every step (default free)",
    )
    p.add_argument("--json", action="store_true", help="print every record as JSON")
    p.add_argument(
        "--against",
        default="torch",
        metavar="torch|jax|torch,jax",
        help="the reference(s): torch (default), jax (the extra nnparity[jax]; dense specs), "
        "or torch,jax: both, and a triangulated verdict naming the odd one out",
    )
    p.add_argument("--rtol", type=float, help="relative tolerance (with --atol)")
    p.add_argument(
        "--atol", type=float, help="absolute tolerance, times max|expected| (with --rtol)"
    )


def stage_table(result) -> list[dict]:  # noqa: ANN001
    """One row per stage: worst differences, tolerance, pass/fail, first failure."""
    from nnparity.reference.compare import STAGES

    rows = []
    for stage in STAGES:
        recs = [r for r in result.records if r.stage == stage]
        if not recs:
            continue
        fail = next((r for r in recs if not r.passed), None)
        row = {
            "stage": stage,
            "compared": len(recs),
            "max abs": max(r.max_abs for r in recs),
            "max rel": max(r.max_rel for r in recs),
            "of tolerance": max(r.tol_used for r in recs),
            "result": "pass" if fail is None else f"FAIL ({sum(not r.passed for r in recs)})",
            "first failure": "" if fail is None else f"step {fail.step} / {fail.tensor}",
        }
        orc = [r for r in recs if r.oracle_scratch is not None]
        if orc:
            es = max(r.oracle_scratch for r in orc)
            et = max(r.oracle_torch for r in orc)
            row["vs float64: scratch"] = es
            row["torch"] = et
            row["ratio"] = es / et if et > 0 else float("nan")
        rows.append(row)
    return rows


def run(args: argparse.Namespace) -> int:
    from tabulate import tabulate

    from nnparity.reference.against import parse_against
    from nnparity.reference.engine import run_parity

    against = parse_against(args.against)
    if against != ("torch",):
        return run_many(args, against)
    result = run_parity(args.spec, steps=args.steps, mode=args.mode, rtol=args.rtol, atol=args.atol)
    if args.json:
        from nnparity.reports.jsonout import dumps

        print(
            dumps(
                {
                    "spec": str(result.spec),
                    "mode": result.mode,
                    "steps": result.steps,
                    "passed": result.passed,
                    "judged_by": result.judged_by,
                    "cannot_judge": result.cannot_judge,
                    "records": [r.as_dict() for r in result.records],
                    "resync": None
                    if result.resync is None
                    else {
                        "passed": result.resync.passed,
                        "records": [r.as_dict() for r in result.resync.records],
                    },
                    "finite_differences": [o.__dict__ for o in result.opinions],
                }
            )
        )
        return _code(result)
    print(f"spec: {result.spec}")
    print(f"mode: {result.mode}, steps: {result.steps}\n")
    if any(r.oracle_scratch is not None for r in result.records):
        print(
            "float32: 'vs float64' columns are each side's largest error against a float64 "
            "PyTorch run\n"
        )
    print(tabulate(stage_table(result), headers="keys", floatfmt=".3g"))
    print()
    judged = result
    if result.resync is not None:
        from nnparity.reference.engine import GROWTH_CAP

        judged = result.resync
        print(
            f"free mode cannot judge this run: the loss grew {result.growth:.3g}x, past the "
            f"cap of {GROWTH_CAP:g}x within which free mode's tolerance follows the growth. "
            "The resync comparison (the twin reset to scratch before every step) decides:\n"
        )
        print(tabulate(stage_table(judged), headers="keys", floatfmt=".3g"))
        print()
    if result.cannot_judge and _code(result) != 2:
        print(f"{result.cannot_judge}; the steps before it decide.\n")
    if _code(result) == 2:
        print(f"CANNOT JUDGE (nothing was compared): {result.cannot_judge}.")
    elif result.passed:
        how = " (by the resync comparison)" if judged is not result else ""
        if judged.unjudged is not None:
            how += f" (up to step {judged.unjudged[0]} / {judged.unjudged[1]})"
        print(f"PASS{how}: scratch matches PyTorch ({len(judged.judged)} comparisons).")
        losses = [r.torch_value for r in judged.judged if r.stage == "loss"]
        broke = next((r for r in judged.judged if r.nonfinite), None)
        verdict = "the code does not differ (resync mode says so)."
        if broke is not None:
            print(
                f"Note: both sides went non-finite alike from {broke.where}: the training "
                f"diverges (learning rate, model); {verdict}"
            )
        elif len(losses) > 1 and abs(losses[-1]) > 1e3 * max(abs(losses[0]), 1e-300):
            print(
                f"Note: the loss grew from {losses[0]:.3g} to {losses[-1]:.3g} on both sides: "
                f"the training diverges (learning rate, model); {verdict}"
            )
    else:
        print("FAIL: " + result.message())
    return _code(result)


def _code(result: Any) -> int:
    """0 parity holds, 1 it failed, 2 nothing could be judged (overflow from step 1 on)."""
    if result.nothing_judged:
        return 2
    return 0 if result.passed else 1


def run_many(args: argparse.Namespace, against: tuple[str, ...]) -> int:
    """``--against`` other than plain torch: a table per framework, then the verdict line."""
    from tabulate import tabulate

    from nnparity.reference.against import run_against
    from nnparity.reference.engine import FRAMEWORKS

    res = run_against(
        args.spec, args.steps, args.mode, against=against, rtol=args.rtol, atol=args.atol
    )
    if args.json:
        from nnparity.reports.jsonout import dumps

        tri = res.triangulation
        print(
            dumps(
                {
                    "spec": str(next(iter(res.results.values())).spec),
                    "mode": args.mode,
                    "steps": args.steps,
                    "against": list(against),
                    "passed": res.passed,
                    "frameworks": {
                        fw: {
                            "passed": r.passed,
                            "judged_by": r.judged_by,
                            "records": [x.as_dict() for x in r.records],
                            "resync": None
                            if r.resync is None
                            else {
                                "passed": r.resync.passed,
                                "records": [x.as_dict() for x in r.resync.records],
                            },
                        }
                        for fw, r in res.results.items()
                    },
                    "verdict": res.verdict(),
                    "odd_one_out": None if tri is None else tri.odd_one_out,
                    "max_differences": None if tri is None else tri.max_diff(),
                }
            )
        )
        return 0 if res.passed else 1
    first = next(iter(res.results.values()))
    print(f"spec: {first.spec}")
    print(f"mode: {first.mode}, steps: {first.steps}, against: {', '.join(against)}\n")
    for fw, r in res.results.items():
        name = FRAMEWORKS[fw]
        judged = r.resync or r
        how = " (free mode could not judge: the resync comparison decides)" if r.resync else ""
        print(f"scratch against {name}{how}:")
        print(tabulate(stage_table(judged), headers="keys", floatfmt=".3g"))
        word = "PASS" if r.passed else "FAIL"
        print(f"{word}: scratch {'matches' if r.passed else 'differs from'} {name} "
              f"({len(judged.records)} comparisons)\n")  # fmt: skip
        if not r.passed:
            print(r.message() + "\n")
    print(f"verdict: {res.verdict()}")
    return 0 if res.passed else 1
