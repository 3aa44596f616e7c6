"""The ``nnparity`` command line: a thin layer over functions a user can import.

Each subcommand lives in its own module ``nnparity.reports.cmd_<name>`` with
``add_arguments(parser)`` and ``run(args) -> int``; those modules import heavy libraries
(torch, pandas) only inside ``run``, so ``nnparity --help`` and ``nnparity list`` start fast
and never import torch.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

COMMANDS = {
    "list": "show the registered activations, losses, initializers and optimizers",
    "compare": "hold scratch to PyTorch for one spec, step by step",
    "report": "sweep a configuration matrix and write divergence reports",
    "check": "validate a learner's own NumPy network and name the bug",
    "bench": "time scratch and the parity engine against PyTorch",
    "conventions": "measure where PyTorch's and JAX's own defaults differ (needs nnparity[jax])",
}


def _module(name: str):  # noqa: ANN202
    return importlib.import_module(f"nnparity.reports.cmd_{name}")


def make_parser(commands: list[str] | None = None) -> argparse.ArgumentParser:
    """The argument parser; ``commands`` limits which subcommand modules are loaded."""
    parser = argparse.ArgumentParser(
        prog="nnparity",
        description="Hold from-scratch NumPy neural networks to PyTorch: forward outputs, "
        "gradients and updates compared step by step.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, help_ in COMMANDS.items():
        p = sub.add_parser(name, help=help_, description=help_)
        if commands is None or name in commands:
            _module(name).add_arguments(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``nnparity`` console script; returns the exit code."""
    argv = sys.argv[1:] if argv is None else argv
    first = next((a for a in argv if not a.startswith("-")), None)
    parser = make_parser([first] if first in COMMANDS else [])
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return int(_module(args.command).run(args))
    except KeyboardInterrupt:
        print(f"nnparity {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `nnparity ... | head`: the reader has gone, which is no error
        _quiet_stdout()
        return 0
    except Exception as e:
        # imported here: nnparity.scratch brings NumPy, which check's parent process never needs
        from nnparity.scratch.errors import NNParityError

        if not isinstance(e, NNParityError):
            raise
        print(f"nnparity {args.command}: error: {e}", file=sys.stderr)
        return 2


def _quiet_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


if __name__ == "__main__":
    raise SystemExit(main())
