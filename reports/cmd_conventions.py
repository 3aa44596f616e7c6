"""``nnparity conventions [--all] [--json]``: where PyTorch's and JAX/optax/flax's own defaults
differ, measured by running both on probe inputs (``nnparity.reference.conventions_table``)."""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument(
        "--all", action="store_true", help="also list the probes where both frameworks agree"
    )


def _fmt(v: object) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, list):
        return "[" + ", ".join(_fmt(x) for x in v) + "]"
    return str(v)


def run(args: argparse.Namespace) -> int:
    try:
        from nnparity.reference.conventions_table import conventions_table
        from nnparity.reference.jax import precision  # noqa: F401  (needs the extra)
    except ImportError as e:
        from nnparity.scratch.errors import NNParityError

        raise NNParityError(f"{e}. The conventions table runs JAX and optax.") from None
    from .jsonout import dumps

    rows = [r for r in conventions_table() if args.all or r.differs]
    if args.json:
        print(dumps([r.as_dict() for r in rows]))
        return 0
    from tabulate import tabulate

    table = []
    for r in rows:
        d = r.as_dict()
        agree = d["agree_with"] or "-"
        if r.setting and not r.agree_with:
            agree = f"(tried {r.setting}: still {_fmt(r.residual)} apart)"
        diff = "same" if not r.differs else _fmt(d["difference"])
        table.append([d["what"], _fmt(d["torch"]), _fmt(d["jax"]), diff, agree])
    print(tabulate(table, headers=["what", "PyTorch", "JAX", "difference", "agree with"]))
    print(
        "\nMeasured now by running both frameworks with their own defaults (float64, CPU); "
        "'agree with' is listed only where running that setting made the difference vanish. "
        "--all adds the probes where both agree."
    )
    return 0
