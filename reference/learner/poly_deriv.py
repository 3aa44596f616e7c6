"""A derivative written wrong, fitted: when no candidate explains a layer whose layers above
agree, the learner's dW_l and db_l are fitted as da_l * m with m a polynomial of degree <= 3 in
a_l = f(z_l) (then in z_l): dW_l = a_(l-1)^T (da_l * sum_j c_j x^j) is linear in the c_j, so
one least-squares solve over the steps examined finds them. ``1 - a`` for tanh' (the square
left out), ``a - a^3``, ``1 + a^2``: any slip of that kind is named with its formula, where a
list of candidates holds only the slips someone thought of. The hypothesis search then judges
the fitted candidate like any other (hypotheses.py). An activation with a kink at 0 (relu, leaky
relu, elu, selu) is also fitted with one polynomial on each side of it, in a and then in z,
where a slip is in one branch: elu'(z) written as elu(z) below 0, the + alpha left out, or as
z + alpha where a + alpha belongs (review s19a)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from .candidates import OUTPUT_FORMULA, SYMBOL, Deriv, prime

Tensor = torch.Tensor
DEGREE = 3
SNAP = 4  # coefficients snapped to quarters first
KINKED = ("relu", "leaky_relu", "elu", "selu")  # a kink at 0: fitted on each side too
DUST = 0.05  # terms this small beside their side's largest are tried without, first
NEAR = 0.02  # coefficients this near k times the true derivative's are the true derivative


def fitted_derivative(
    steps: Sequence, l: int, da: list[Tensor], act: str, bias: bool, module: Any = None
) -> list[Deriv]:
    """The polynomial derivatives of layer ``l`` that may reproduce the learner's gradients,
    as candidates (its coefficients snapped to quarters first, then as fitted); none when the
    fit is the true derivative times a constant (a scale, which other hypotheses name), or
    within ``NEAR`` of that: a polynomial that close is the right derivative fitted around
    another error (one unit's stale weight), which it must not be named for."""
    out: list[Deriv] = []
    for var in ("a", "z"):
        c = _solve(steps, l, da, var, bias)
        if c is None:
            continue
        if _proportional_to_true(c, var, act):
            return []
        snapped = torch.round(c * SNAP) / SNAP
        if not bool(snapped.abs().gt(0).any()):
            continue
        near = float((snapped - c).abs().max()) <= 1e-3 * max(1.0, float(c.abs().max()))
        out += [_deriv(k, var, act) for k in ([snapped, c] if near else [c])]
    if act in KINKED and module is not None:
        out += _branches(steps, l, da, act, bias, module)
    return out


def _branches(
    steps: Sequence, l: int, da: list[Tensor], act: str, bias: bool, module: Any
) -> list[Deriv]:
    """Candidates with one polynomial in a, and one in z, on each side of the kink, none where
    both sides are the true derivative times one constant at the points the steps reached."""
    z = torch.cat([s.z[l].reshape(-1) for s in steps])
    a, true = module(z), prime(module, z)
    return [d for var in ("a", "z") for d in _branch(steps, l, da, act, bias, var, z,
                                                     a if var == "a" else z, true)]  # fmt: skip


def _branch(
    steps: Sequence, l: int, da: list[Tensor], act: str, bias: bool, var: str, z: Tensor,
    x: Tensor, true: Tensor,
) -> list[Deriv]:  # fmt: skip
    """``_branches``' candidates as polynomials in ``var`` (``x``: its values at ``z``)."""
    c = _solve(steps, l, da, var, bias, split=True)
    if c is None:
        return []
    fit = _on_sides(c, z, x)
    scale = float(fit @ true) / max(float(true @ true), 1e-300)
    if all(  # on each side, at that side's own size (leaky's 0.01 below 0 is no 0.02 off)
        float((fit - scale * true)[m].abs().max())
        <= NEAR * float(torch.maximum(fit[m].abs(), (scale * true)[m].abs()).max())
        for m in (z > 0, z <= 0)
        if bool(m.any())
    ):
        return []  # the true derivative (or a scale of it, which other hypotheses name)
    snapped = torch.round(c * SNAP) / SNAP
    near = float((snapped - c).abs().max()) <= 1e-3 * max(1.0, float(c.abs().max()))
    tidy = _tidy(c, z, x)
    plain = _rounded(_tidy(c, z, x, DUST))  # float32's dust: tried first, the fit's own after
    tried = [snapped, tidy] if near else [plain, tidy] if not torch.equal(plain, tidy) else [tidy]
    return [_split_deriv(k, act, z, x, true, var) for k in tried]


def _rounded(c: Tensor) -> Tensor:
    """``c`` to 3 significant digits (0.0199998 is 0.02)."""
    mag = torch.where(c == 0, 1.0, 10.0 ** (torch.floor(torch.log10(c.abs().clamp_min(1e-300)))))
    return torch.round(c / mag * 100) / 100 * mag


def _tidy(c: Tensor, z: Tensor, a: Tensor, rel: float = 1e-6) -> Tensor:
    """``c`` without the terms that add less than ``rel`` of their side's largest value there
    (least-squares dust: 1e-11 a beside a slope of 0.1; a float32 learner's, 1e-5 a^2 beside
    0.02: ``DUST``, review s19a)."""
    n, out = DEGREE + 1, c.clone()
    for side, m in ((0, z > 0), (1, z <= 0)):
        if not bool(m.any()):
            continue
        top = float(a[m].abs().max())
        part = c[side * n : (side + 1) * n]
        size = torch.stack([part[j].abs() * top**j for j in range(n)])
        out[side * n : (side + 1) * n] = torch.where(size <= rel * size.max(), 0.0, part)
    return out


def _on_sides(c: Tensor, z: Tensor, a: Tensor) -> Tensor:
    n = DEGREE + 1
    up = sum(c[j] * a**j for j in range(n))
    down = sum(c[n + j] * a**j for j in range(n))
    return torch.where(z > 0, up, down)


def _split_deriv(c: Tensor, act: str, z: Tensor, a: Tensor, true: Tensor, var: str = "a") -> Deriv:
    """A two-sided candidate in ``var`` (``a``: its values), said by the side(s) whose
    polynomial parts from the true derivative at the points the steps reached there."""
    sym, n = SYMBOL.get(act, act), DEGREE + 1
    fit = _on_sides(c, z, a)
    said = []
    for side, part, mask in (("z > 0", c[:n], z > 0), ("z <= 0", c[n:], z <= 0)):
        if not bool(mask.any()):
            continue
        off = float((fit - true)[mask].abs().max())
        if off > NEAR * float(torch.maximum(fit[mask].abs(), true[mask].abs()).max()):
            said.append(f"{poly_text(part, var)} for {side}")
    coef = c.tolist()
    return Deriv(
        "poly split",
        "wrong_activation_derivative",
        f"{' and '.join(said)} in place of {sym}'(z) (fitted as a polynomial in "
        f"{'a = ' + sym + '(z)' if var == 'a' else 'z'} on each side of 0)",
        1.5,
        lambda z, a: torch.where(
            z > 0,
            sum(coef[j] * (a if var == "a" else z) ** j for j in range(n)),
            sum(coef[n + j] * (a if var == "a" else z) ** j for j in range(n)),
        ),
    )


def _deriv(c: Tensor, var: str, act: str) -> Deriv:
    sym = SYMBOL.get(act, act)
    right = OUTPUT_FORMULA[act][0] if act in OUTPUT_FORMULA else f"{sym}'(z)"
    coef = c.tolist()
    return Deriv(
        f"poly {var}",
        "wrong_activation_derivative",
        f"{poly_text(c, var)} in place of {sym}'(z) = {right} (fitted as a polynomial in "
        f"{'a = ' + sym + '(z)' if var == 'a' else 'z'})",
        1.5,
        lambda z, a: sum(k * (a if var == "a" else z) ** j for j, k in enumerate(coef)),
    )


def _solve(
    steps: Sequence, l: int, da: list[Tensor], var: str, bias: bool, split: bool = False
) -> Tensor | None:
    """The least-squares coefficients (``split``: those for z > 0, then those for z <= 0), or
    None where the dz values they are fitted to number fewer than three per coefficient (one
    row of 3 units a step fits any cubic: the gradients of a batch of 1 are made of 3 numbers)."""
    cols, target, values = [], [], 0  # values: of dz, all the gradients are made from
    for s, d in zip(steps, da, strict=True):
        x, prev = (s.a[l] if var == "a" else s.z[l]), s.a[l - 1]
        names = [f"W{l}", f"b{l}"] if bias else [f"W{l}"]
        if s.g[names[0]].shape != (prev.shape[1], x.shape[1]):
            return None
        values += x.numel()
        w = {n: 1.0 / max(s.atol[n], 1e-300) for n in names}
        per = []
        sides = [s.z[l] > 0, s.z[l] <= 0] if split else [None]
        for side, j in ((m, j) for m in sides for j in range(DEGREE + 1)):
            dz = d * x**j if side is None else d * x**j * side
            parts = [(prev.T @ dz).reshape(-1) * w[names[0]]]
            if bias:
                parts.append(dz.sum(0) * w[names[1]])
            per.append(torch.cat(parts))
        cols.append(torch.stack(per, 1))
        target.append(torch.cat([s.g[n].reshape(-1) * w[n] for n in names]))
    M, t = torch.cat(cols), torch.cat(target)
    if min(M.shape[0], values) < 3 * M.shape[1] or not bool(torch.isfinite(M).all()):
        return None
    c = torch.linalg.lstsq(M, t.unsqueeze(1)).solution.squeeze(1)
    return c if bool(torch.isfinite(c).all()) else None


def _proportional_to_true(c: Tensor, var: str, act: str) -> bool:
    """c is k times the true derivative's own polynomial (tanh: 1 - a^2; sigmoid: a - a^2)."""
    true = {"tanh": [1.0, 0.0, -1.0, 0.0], "sigmoid": [0.0, 1.0, -1.0, 0.0]}.get(act)
    if act == "identity":
        true = [1.0, 0.0, 0.0, 0.0]
    if var != "a" or true is None:
        return False
    t = torch.tensor(true, dtype=c.dtype)
    k = float(c @ t) / float(t @ t)
    return float((c - k * t).abs().max()) <= NEAR * max(1.0, float(c.abs().max()))


def poly_text(c: Tensor, var: str) -> str:
    """``1 - a``, ``0.5 a - a^3``: the nonzero terms, lowest power first."""
    out = ""
    for j, k in enumerate(c.tolist()):
        if abs(k) < 1e-12:
            continue
        mag = abs(k)
        num = f"{mag:g}" if (j == 0 or mag != 1) else ""
        term = num + ("" if j == 0 else (" " if num else "") + var + (f"^{j}" if j > 1 else ""))
        sign = "-" if k < 0 else "+"
        out += (f" {sign} " if out else ("-" if k < 0 else "")) + term
    return out or "0"
