"""``nnparity check FILE.py[:NAME] [--steps N] [--json]``: validate a learner's own NumPy
network against its PyTorch twin and name the bug.

FILE.py builds the adapter: a function ``nnparity_adapter()`` (or the function or variable
NAME) returning an adapter from ``nnparity.reference.learner`` (``from_gradients``,
``from_layers``, ``from_step``, ``from_forward``, ``from_loss``) with ``data=(X, y)``, or a
tuple ``(adapter, X, y)``; or ``nnparity_layers()`` returning per-layer checks
(``layer_check``: a layer's forward and backward, one verdict per layer). The file is imported,
so keep its own training under ``if __name__ == "__main__":``. It runs in a child process
(``nnparity.reference.learner.sandbox``): a temporary copy of its folder, ``--timeout``
seconds, ``--memory-limit`` bytes, its output captured and shown. Two answers: ``code`` and
``training``. Exit code 0 when the code verdict is ``match`` (whatever the training outcome;
``--require-fit`` also demands ``fits``), 1 otherwise, 2 when no verdict can be given (the file
or adapter cannot be used; the program exited, crashed, hung or ran out of memory), 3 when
nnparity itself fails (an internal error, with our traceback: report it).
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback

from . import check_isolation as isolation
from . import grade_cli

INTERNAL_ERROR = 3

EPILOG = """\
FILE.py defines, for example:

    def nnparity_adapter():
        from nnparity.reference.learner import from_gradients
        net = MyNet([2, 4, 1])
        return from_gradients(net, ["W1", "b1", "W2", "b2"], net.gradients,
                              sizes=[2, 4, 1], activations="tanh,sigmoid", loss="bce",
                              optimizer="sgd", lr=0.5, data=(X, y))

two answers: code (match / implementation_bug / numerical_instability) and training
(fits / model_limitation / not_assessed)
exit 0: code match, whatever the training (with --require-fit: and training fits)
exit 1: code implementation_bug or numerical_instability (with --require-fit: or no fit)
exit 2: no verdict: the file or the adapter cannot be used, or your program exited,
        crashed, ran past --timeout or out of --memory-limit (the message says which)
exit 3: an internal error of nnparity (not a verdict on your network; please report it)
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.epilog = EPILOG
    p.add_argument(
        "target",
        nargs="+",  # one file: its report; several, folders or globs: a graded batch
        metavar="FILE.py[:NAME]",
        help="the learner's file; NAME (default nnparity_adapter) gives the adapter; several "
        "files, folders (their .py files defining nnparity_adapter) or globs: a batch",
    )
    p.set_defaults(check_parser=p)
    p.add_argument("--steps", type=int, default=10, help="training steps to compare (default 10)")
    p.add_argument(
        "--batch-size",
        type=int,
        help="rows per step (default: the adapter's, else all data: one batch, handed with its "
        "rows in another order at every even step, which no correct gradient notices)",
    )
    p.add_argument(
        "--watch",
        type=int,
        default=300,
        help="while everything agrees, keep training and comparing up to this step, to catch "
        "a late NaN (default 300; 0 turns it off)",
    )
    p.add_argument(
        "--no-training-probe",
        "--no-probe",
        dest="no_probe",
        action="store_true",
        help="skip the training probe (training: not_assessed); the code verdict is unchanged",
    )
    p.add_argument(
        "--probe-steps",
        type=int,
        metavar="N",
        help="steps the training probe trains before judging the fit: your own program's "
        "(its epochs times its batches per epoch), where it trains longer than the probe's "
        "budget (250 passes over the data, 1000 to 10000 steps)",
    )
    p.add_argument(
        "--require-fit",
        action="store_true",
        help="exit 1 unless the training outcome is also 'fits'",
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument(
        "--against",
        default="torch",
        metavar="torch|jax|torch,jax",
        help="jax: the check runs against PyTorch as always, then JAX triangulates the "
        "declared spec's reference numbers at your initial weights (the extra nnparity[jax])",
    )
    isolation.add_arguments(p)
    grade_cli.add_arguments(p)


def check_options(args: argparse.Namespace) -> dict:
    """The keyword arguments of ``check`` that the command line sets (sent to the child)."""
    return {
        "steps": args.steps,
        "batch_size": args.batch_size,
        "watch": args.watch,
        "probe": not args.no_probe,
        **({"probe_steps": args.probe_steps} if args.probe_steps else {}),
        **({"against": _against(args)} if args.against != "torch" else {}),
    }


def _against(args: argparse.Namespace) -> tuple[str, ...]:
    """``--against``'s frameworks; jax needs the extra (SpecError naming it)."""
    from nnparity.reference.against import parse_against, require_jax

    names = parse_against(args.against)
    if "jax" in names:
        require_jax()
    return names


def run(args: argparse.Namespace) -> int:
    if args.require_fit and args.no_probe:
        print(
            "nnparity check: --require-fit needs the training probe: drop --no-training-probe",
            file=sys.stderr,
        )
        return 2
    if grade_cli.is_batch(args):
        return grade_cli.run(args, check_options(args))
    target = args.target[0]
    if not args.in_process:
        return isolation.run(target, check_options(args), args, require_fit=args.require_fit)
    from nnparity.reference.learner import check
    from nnparity.reference.learner.loader import load
    from nnparity.reference.learner.per_layer import check_layers, is_layer_checks
    from nnparity.reports.jsonout import dumps
    from nnparity.scratch.errors import NNParityError

    adapter, X, y = load(target)
    options = check_options(args)
    against = options.pop("against", ())
    try:
        if is_layer_checks(adapter):  # the file's nnparity_layers(): one verdict per layer
            result = check_layers(adapter)
        else:
            result = check(adapter, X, y, **options)
    except NNParityError:
        raise
    except Exception:  # noqa: BLE001 - our own failure: say so, never as a verdict on the code
        print(
            "nnparity check: internal error: nnparity itself failed while checking "
            f"{target}; this is a bug in nnparity, not a verdict on your network. "
            "Please report it with the traceback below and your file.\n",
            file=sys.stderr,
        )
        traceback.print_exc(file=sys.stderr)
        return INTERNAL_ERROR
    text = dumps(result.as_dict(), indent=2) if args.json else result.render()
    if "jax" in against and not args.json:
        from nnparity.reference.jax.learner import learner_triangulation

        text += "\n" + learner_triangulation(adapter, X, y, args.steps)[1]
    try:
        print(text)
        sys.stdout.flush()
    except BrokenPipeError:  # `nnparity check ... | head`: the reader has gone; not an error
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return 0 if result.passes(args.require_fit) else 1
