"""``nnparity check``'s isolation: its options (``--timeout``, ``--memory-limit``,
``--in-process``) and the report of a check run in a child process
(``nnparity.reference.learner.sandbox``): the verdict, or what stopped the check, and what the
learner's program printed. With ``--json`` stdout holds one JSON object whatever the program
printed: the result's fields (or ``"code": null`` with ``status`` and ``error``), plus
``output`` (the program's own stdout and stderr) and ``note``."""

from __future__ import annotations

import argparse
import os
import sys

# the sandbox imports only the standard library: the parent never imports torch
from nnparity.reference.learner.sandbox import (
    DEFAULT_MEMORY,
    DEFAULT_TIMEOUT,
    INTERNAL,
    VERDICT,
    IsolatedOutcome,
    parse_bytes,
    run_isolated,
)
from nnparity.reference.learner.sandbox_outcome import format_bytes


def _bytes(text: str) -> int:
    try:
        return parse_bytes(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"seconds must be >= 0 (0: no limit), got {text}")
    return value


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--timeout",
        type=_seconds,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=f"wall-time limit of the whole check (default {DEFAULT_TIMEOUT:g}; 0: none)",
    )
    p.add_argument(
        "--memory-limit",
        type=_bytes,
        default=DEFAULT_MEMORY,
        metavar="SIZE",
        help=f"address-space limit of the check's process, e.g. 8G, 512M "
        f"(default {format_bytes(DEFAULT_MEMORY)}; 0: none)",
    )
    p.add_argument(
        "--in-process",
        action="store_true",
        help="run your file inside nnparity's own process (for a debugger): no copy of the "
        "folder, no time or memory limit, your prints mixed with the report",
    )


def run(target: str, options: dict, args: argparse.Namespace, require_fit: bool = False) -> int:
    """Check ``target`` in a child process and print the outcome; the exit code."""
    from nnparity.reports.jsonout import dumps

    outcome = run_isolated(target, options, args.timeout, args.memory_limit)
    if args.json:
        _print(dumps(as_json(outcome), indent=2))
    elif outcome.status == VERDICT:
        _print(render(outcome))
    if outcome.status != VERDICT:
        print(f"nnparity check: error: {outcome.error}", file=sys.stderr)
        if outcome.status == INTERNAL:
            print(
                "this is a bug in nnparity, not a verdict on your network: please report it "
                "with the text above and your file",
                file=sys.stderr,
            )
        if not args.json:
            print(_extras(outcome), file=sys.stderr, end="")
    return outcome.exit_code(require_fit)


def as_json(outcome: IsolatedOutcome) -> dict:
    """The result's own fields untouched (or ``code: null``, ``status``, ``error``), plus
    ``output`` and ``note``."""
    if outcome.status == VERDICT and outcome.result is not None:
        head = dict(outcome.result)
    else:
        head = {"code": None, "training": None, "status": outcome.status, "error": outcome.error}
    return {**head, "output": outcome.output, "note": outcome.note}


def render(outcome: IsolatedOutcome) -> str:
    """The report, then what the program printed and what the copy left out."""
    return outcome.render + _extras(outcome).rstrip("\n")


def _extras(outcome: IsolatedOutcome) -> str:
    text = ""
    if outcome.output.strip():
        lines = outcome.output.rstrip("\n").splitlines()
        cut = any(ln.startswith("[... ") and ln.endswith(" left out ...]") for ln in lines)
        shown = (
            f"{len(lines) - 1} line(s) shown, the middle left out"
            if cut
            else f"{len(lines)} line(s)"
        )
        text += f"\nyour program printed ({shown}, stdout and stderr):\n"
        text += "".join(f"  | {ln}\n" for ln in lines)
    if outcome.note:
        text += f"\nnote: {outcome.note}\n"
    return text


def _print(text: str) -> None:
    try:
        print(text)
        sys.stdout.flush()
    except BrokenPipeError:  # `nnparity check ... | head`: the reader has gone; not an error
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
