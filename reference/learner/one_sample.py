"""A gradient that is one sample's alone: in a loop over the samples, ``nabla_b = db`` where
``nabla_b += db`` belongs keeps the last sample's gradient (review s19a: Nielsen-style code
with the bias line assigned was unexplained). Asked of the gradients no other reading explains:
each is held to PyTorch's gradient of the batch's last row alone, then its first, times one
constant (the 1/N the update divides by)."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from .factors import proportion
from .result import Finding, factor_text

if TYPE_CHECKING:
    from .codec import Codec
    from .torch_side import Reference

COS = 1 - 1e-9


def one_sample(
    found: list[Finding],
    history: list,
    ref: Reference,
    X: np.ndarray,
    y: np.ndarray,
    codec: Codec,
    start: int,
    atol: float,
) -> list[Finding]:
    """``found`` with each unexplained gradient that is one row's alone named so."""
    obs = history[start - 1][0]
    if obs.grads is None or len(obs.rows) < 2:
        return found
    names = {codec.label(n): n for n in obs.grads}
    rows = list(obs.rows)
    singles: dict[int, dict] = {}

    def read(f: Finding, known: dict[str, float]) -> tuple[str, float] | None:
        """(which row, c) where every gradient of ``f`` is that row's alone times c; a
        gradient of one number only at the c the others showed (``known``)."""
        for which, i in (("last", len(rows) - 1), ("first", 0)):
            if i not in singles:
                singles[i] = ref.run(obs.params, X[rows[i : i + 1]], y[rows[i : i + 1]]).grads
            fits = [_factor(obs.grads[names[p]], singles[i].get(names[p]), atol, known.get(which))
                    for p in f.params if p in names]  # fmt: skip
            if fits and all(c is not None for c in fits):
                return which, fits[0]
        return None

    mine = [f.code == "unexplained_mismatch" and f.step == start for f in found]
    saids = [read(f, {}) if m else None for f, m in zip(found, mine, strict=True)]
    # a gradient of one number read at the one c the others share (review s24c F4: b2 of one
    # number, from the same `=` as W2's, stayed unexplained)
    cs: dict[str, set] = {}
    for w, c in filter(None, saids):
        cs.setdefault(w, set()).add(round(c, 12))
    known = {w: next(iter(c)) for w, c in cs.items() if len(c) == 1}
    saids = [s or (read(f, known) if m and known else None)
             for f, m, s in zip(found, mine, saids, strict=True)]  # fmt: skip
    out = []
    for f, said in zip(found, saids, strict=True):
        if said is None:
            out.append(f)
            continue
        which, c = said
        n = len(rows)
        times = (
            ""
            if abs(c - 1) < 1e-9
            else f" times {factor_text(c, 4, 'g')}" + (" (1/N)" if abs(c * n - 1) < 1e-6 else "")
        )
        out.append(
            replace(
                f,
                code="one_sample_gradient",
                evidence=(
                    f"your gradient of {', '.join(f.params)} at step {start} is PyTorch's "
                    f"gradient of the batch's {which} row alone{times}, not of all {n} rows: a "
                    "loop over the samples that assigns each sample's gradient (nabla_b = db) "
                    "where it adds it up keeps only the " + which
                ),
                hint="accumulate over the samples: nabla += (each sample's gradient), from zero "
                "at the start of each batch",
            )
        )
    return out


def _factor(
    g: np.ndarray, e: np.ndarray | None, atol: float, known: float | None = None
) -> float | None:
    """c with g = c e, cosine 1 and within ``atol`` of the larger, else None; for a gradient
    of one number, which any other is a multiple of (a 1-unit output's bias), only ``known``,
    the c the step's other gradients showed, and where e is not 0."""
    g = np.asarray(g, np.float64).ravel()
    if e is not None and g.size == 1 and known is not None:
        e1 = float(np.asarray(e, np.float64).ravel()[0])
        ok = e1 != 0 and abs(float(g[0]) - known * e1) <= atol * max(abs(float(g[0])), 1e-300)
        return known if ok else None
    if e is None or g.size < 2:  # one number is a multiple of any other: no evidence
        return None
    pc = proportion(g, e)
    if pc is None or pc[1] < COS:
        return None
    c, e = pc[0], np.asarray(e, np.float64).ravel()
    top = max(float(np.abs(g).max()), 1e-300)
    return c if float(np.abs(g - c * e).max()) <= atol * top else None
