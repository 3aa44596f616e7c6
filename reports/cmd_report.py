"""``nnparity report``: sweep a configuration matrix and write divergence reports.

A thin layer over ``nnparity.reports.report.make_report``; see
``nnparity.reports.matrix_file`` for the TOML matrix format.
"""

from __future__ import annotations

import argparse
import os
import sys
import textwrap

LARGE = 1e9  # bytes of records above which the CLI warns about memory
# The one speed claim (README says the same): `nnparity report` on the default matrix, measured
# with /usr/bin/time on the 2-core development machine (AMD EPYC), quiet, 2026-12-06.
DEFAULT_TIME = "about 20 seconds on 2 quiet cores (measured 20 s wall, 27 s of CPU time)"


def _positive(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text!r}")
    return n


def _seed(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = -1
    if n < 0:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 0, got {text!r}")
    return n


def _scheduler(text: str) -> str:
    from .executor import SchedulerError, check_scheduler

    try:
        return check_scheduler(text)
    except SchedulerError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.epilog = textwrap.dedent(
        """\
        A matrix file (TOML) chooses the axes; every key is optional:
          design = "covering"    # covering | product | quick
          activations = ["relu", "tanh"]
          initializers = ["xavier_uniform", "kaiming_normal"]
          losses = ["mse", "cross_entropy"]
          optimizers = ["sgd(lr=0.1)", "adam(lr=0.01)"]
          dtypes = ["float32", "float64"]
          sizes = [4, 6, 5]      # input and hidden widths
          steps = 5
          modes = ["free", "resync"]
          specs = ["3-4-1 tanh,sigmoid loss=bce opt=sgd(lr=0.1)"]

        OUT holds report.md, report.html, the data (configurations.csv, records.csv keyed
        by configuration id, tolerances.csv; the same as .parquet with pyarrow; read back
        typed with nnparity.reports.load(OUT)), heatmap_<dtype>.png and
        divergence_vs_step.png; a rerun into the same OUT replaces
        them and removes those it did not write (a heatmap of a dtype no longer swept, a
        stale records.parquet). Other files in OUT are left alone.

        While the sweep runs, OUT/checkpoint.jsonl records each finished configuration;
        after an interruption, the same command with --resume runs only the rest. It is
        removed once the report holds every configuration. Without --resume, a checkpoint
        left by an unfinished sweep is moved to checkpoint.jsonl.bak (with a warning) and
        the sweep starts over; with --resume, the configurations in it that are not in this
        matrix (another matrix, --seed or specs) are dropped, the old file kept as
        checkpoint.jsonl.bak, and it says how many matched; lines it cannot read are counted
        and their configurations run again. --steps must match the checkpoint's.

        One report at a time per OUT: a second one into the same folder refuses at once with
        the first one's PID (OUT/.nnparity-report.lock, removed at the end; a lock left by a
        killed run is taken over). Worker processes end with the main process, even after
        kill -9.

        Before anything runs, the sweep's time and memory are estimated from the layer
        sizes, batch and steps; a sweep that cannot fit in the memory available is refused,
        and so, unless --allow-long, is one of more than 10,000 steps per configuration or
        of more than 24 hours.

        Exit status: 0 every configuration agreed with PyTorch (or diverged on both sides
        alike); 1 some configuration failed parity; 2 the report could not run (a bad
        matrix or --out, OUT in use, a refused size) or some configuration raised an error
        instead of giving a verdict; 130 interrupted.
        """
    )
    p.add_argument(
        "--out", default="nnparity-report", help="output folder (default ./nnparity-report)"
    )
    p.add_argument(
        "--matrix",
        default="default",
        metavar="quick|default|full|FILE",
        help="quick (each variant once: seconds), default (every activation x initializer "
        "pair, a row per margin loss, and every layer type: 764 configurations; "
        f"{DEFAULT_TIME}, measured on the 728 dense ones), full (every combination: 92,248 "
        "configurations, long and memory-hungry) or a TOML file",
    )
    p.add_argument("--steps", type=_positive, help="training steps per configuration (default 5)")
    p.add_argument(
        "--jobs",
        type=_positive,
        help=f"worker processes (default: the cores, {os.cpu_count()}; one process for small "
        "sweeps)",
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="keep the configurations already in OUT/checkpoint.jsonl (an interrupted sweep) "
        "and run only the rest",
    )
    p.add_argument(
        "--scheduler",
        type=_scheduler,
        metavar="local:N|ADDRESS",
        help="run the sweep on dask.distributed (extra nnparity[dask]): local:N starts a "
        "LocalCluster of N workers, ADDRESS (tcp://host:8786) uses a running scheduler; same "
        "report, same checkpoint and --resume",
    )
    p.add_argument("--seed", type=_seed, help="seed of the matrix's first spec (default 0)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.add_argument(
        "--against",
        default="torch",
        metavar="torch|jax|torch,jax",
        help="hold each configuration to these frameworks (default torch; jax needs the extra "
        "nnparity[jax] and dense specs); with both, a 'PyTorch against JAX' table",
    )
    p.add_argument(
        "--allow-long",
        action="store_true",
        help="lift the limits of 10,000 steps per configuration and 24 hours estimated "
        "(memory limits stay)",
    )


def run(args: argparse.Namespace) -> int:
    from nnparity.reference.against import parse_against, require_jax

    from .budget import check, size
    from .executor import SchedulerError
    from .matrix_file import resolve
    from .report import make_report

    against = parse_against(args.against)
    if "jax" in against:
        require_jax()
    plan = resolve(args.matrix, seed=args.seed, steps=args.steps)
    n = len(plan.specs) * len(plan.modes) * len(against)
    per_spec = len(plan.modes) * len(against)
    est = check(plan.specs, per_spec, plan.steps, args.jobs, allow_long=args.allow_long)
    print(
        f"nnparity report: {len(plan.specs)} specs x {len(plan.modes)} mode(s)"
        f"{f' x {len(against)} frameworks' if len(against) > 1 else ''} = {n} "
        f"configurations, {plan.steps} step(s) each, {est.text()} -> {args.out}",
        file=sys.stderr,
    )
    if est.report_bytes > LARGE:
        print(
            f"nnparity report: warning: {est.rows:,} record rows, all held in memory "
            f"(roughly {size(est.report_bytes)}); a matrix file (see --help) chooses fewer",
            file=sys.stderr,
        )
    try:
        report = make_report(
            plan,
            args.out,
            jobs=args.jobs,
            resume=args.resume,
            progress=not args.no_progress,
            allow_long=args.allow_long,
            against=against,
            scheduler=args.scheduler,
        )
    except KeyboardInterrupt:
        print(
            f"nnparity report: stopped; finished configurations are kept in "
            f"{os.path.join(args.out, 'checkpoint.jsonl')}: run the same command with "
            "--resume to continue",
            file=sys.stderr,
        )
        raise
    except SchedulerError as e:
        print(f"nnparity report: error: {e}", file=sys.stderr)
        return 2
    except MemoryError:
        print(
            "nnparity report: error: out of memory; finished configurations are kept in "
            f"{os.path.join(args.out, 'checkpoint.jsonl')}: choose fewer configurations or "
            "steps, or resume with --resume on a machine with more memory",
            file=sys.stderr,
        )
        return 2
    print(report.verdict)
    for line in report.highlights:
        print(textwrap.fill(line, width=100, initial_indent="- ", subsequent_indent="  "))
    print()
    print(f"Report: {report.files['html']} (details, tables and plots)")
    print(f"        {report.files['markdown']} (Markdown)")
    kinds = ("configurations_csv", "csv", "tolerances_csv", "configurations_parquet", "parquet")
    data = ", ".join(str(report.files[k]) for k in kinds if k in report.files)
    print(f"Data:   {data} (read back typed: nnparity.reports.load(OUT))")
    if report.exit_code == 2:
        print(
            "nnparity report: some configurations gave no verdict (they raised an error; see "
            "'Errors and non-finite configurations' in the report): exit status 2",
            file=sys.stderr,
        )
    return report.exit_code
