"""``nnparity list [--json]``: the registries, with hyperparameters and their defaults."""

from __future__ import annotations

import argparse
import json


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")


def registry_table() -> dict[str, list[dict]]:
    """``{kind: [{name, params: {key: default}, doc}]}`` for every registry, layers last."""
    from nnparity.scratch import REGISTRIES, layers

    return {
        kind: [
            {"name": v.name, "params": dict(v.defaults), "doc": v.doc}
            for v in (reg[n] for n in reg)
        ]
        for kind, reg in {**REGISTRIES, "layer": layers}.items()
    }


PLURAL = {"activation": "activations", "loss": "losses"}


def run(args: argparse.Namespace) -> int:
    table = registry_table()
    if args.json:
        print(json.dumps(table, indent=2))
        return 0
    for kind, rows in table.items():
        print(f"{PLURAL.get(kind, kind + 's')} ({len(rows)}):")
        for r in rows:
            params = ", ".join(f"{k}={v}" for k, v in r["params"].items())
            print(f"  {r['name']}({params})" if params else f"  {r['name']}")
            for line in (r["doc"] or "").splitlines():
                print(f"      {line}")
        print()
    print(
        "A spec names them: 3-4-1 tanh,sigmoid loss=bce opt=sgd(lr=0.1,momentum=0.9) "
        "init=xavier_uniform dtype=float64 seed=0"
    )
    print(
        "or, with layers: 1x8x8 conv(4,k=3,pad=1) relu maxpool(2) flatten dense(16) batchnorm "
        "relu dropout(0.25) dense(3) loss=cross_entropy (0 for k/out/units means: required)"
    )
    return 0
