"""``nnparity check PATH... --out DIR``: the batch options of ``check`` and their run (see
``grade``). A batch is several paths, a folder, a glob, or any of ``--out``, ``--resume``,
``--format gradescope``, ``--scheduler``; one file alone is ``check``'s single report."""

from __future__ import annotations

import argparse
import glob
import os
import sys
from pathlib import Path

DEFAULT_OUT = "grades"


def add_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("grading a class (several files, folders or globs)")
    g.add_argument(
        "--out",
        metavar="DIR",
        help=f"write grades.csv, grades.md, grades.html and reports/ here (default "
        f"./{DEFAULT_OUT} for a batch)",
    )
    g.add_argument(
        "--jobs",
        type=_positive,
        default=1,
        help="submissions checked side by side (default 1; each is its own process)",
    )
    g.add_argument(
        "--format",
        choices=("text", "gradescope"),
        default="text",
        help="gradescope: also write DIR/results.json in Gradescope's autograder schema",
    )
    g.add_argument(
        "--resume",
        action="store_true",
        help="keep DIR/grades.csv's rows whose submission (its file, the modules of its folder "
        "it imports, the options) is unchanged: check only new or changed ones",
    )
    g.add_argument(
        "--scheduler",
        metavar="local:N|ADDRESS",
        help="check on dask.distributed (extra nnparity[dask]); the files must be readable "
        "at the same paths on the workers",
    )


def _positive(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text!r}")
    return n


def is_batch(args: argparse.Namespace) -> bool:
    t = args.target
    single = len(t) == 1 and not glob.has_magic(t[0]) and not os.path.isdir(t[0])
    flags = args.out or args.resume or args.format != "text" or args.scheduler
    return not single or bool(flags)


def run(args: argparse.Namespace, options: dict) -> int:
    """Grade the batch; print one line per submission and the files; the worst exit code
    of its submissions (0 all pass, 1 some verdict fails, 2 some gave no verdict, 3 internal)."""
    from .executor import SchedulerError, check_scheduler
    from .grade import grade, submissions
    from .grade_files import counts, write_all

    if args.in_process or args.json:
        flag = "--in-process" if args.in_process else "--json"
        return _error(f"{flag} is for one file; a batch writes grades.csv (drop {flag})")
    files, notes = submissions(args.target)
    for n in notes:
        print(f"nnparity check: {n}", file=sys.stderr)
    if not files:
        return _error("no submission to grade: give .py files, folders or globs")
    out = Path(args.out or DEFAULT_OUT)
    if out.exists() and not out.is_dir():
        return _error(f"--out {str(out)!r} is a file, not a folder; choose another path")
    try:
        scheduler = check_scheduler(args.scheduler) if args.scheduler else None
        rows = grade(
            files,
            out,
            options,
            timeout=args.timeout,
            memory=args.memory_limit,
            require_fit=args.require_fit,
            jobs=args.jobs,
            scheduler=scheduler,
            resume=args.resume,
            gradescope=args.format == "gradescope",
            log=lambda s: print(f"nnparity check: {s}", file=sys.stderr, flush=True),
        )
    except SchedulerError as e:
        return _error(str(e))
    except OSError as e:
        return _error(f"cannot write {e.filename or out}: {e.strerror}")
    written = write_all(out, rows, gradescope=args.format == "gradescope")
    print(counts(rows))
    for path in written.values():
        print(f"  {path}")
    return max((r.exit_code() for r in rows), default=0)


def _error(text: str) -> int:
    print(f"nnparity check: error: {text}", file=sys.stderr)
    return 2
