"""Where a kink can part two correct layered programs: the forward round-off envelope, and the
gradient a derivative flip at a kink can move.

The backward allowance (``layered_terms``) assumes both sides take the same branch of every
activation. At a kink (ReLU's 0, hardtanh's corners) a pre-activation within round-off of the
corner falls on either side, and the two sides' derivatives then differ by the jump. That
happens wherever the exact value sits on the corner: a batchnorm over a channel whose values
are all equal (its x - mu is 0 exactly, each side's is a rounding of it, times 1/sqrt(eps)).

The forward envelope E (first order, absolute, in units of u) per layer, x its input, y output:

    dense, conv   E_y = lin_|W|(E_x) + (n + 1) lin_|W|,|b|(|x|)          (n: the fan-in)
    norm (statistics over m values)
                  E_mu = mean E_x + m mean |x|,  E_xc = E_x + E_mu + |xc|
                  E_var = mean(2 |xc| E_xc) + (m + 2) mean xc^2
                  E_y = |gamma| (rstd E_xc + |xhat| (rstd^2 E_var / 2 + 2)) + 2 |y|
    eval norm     E_y = |gamma| rstd (E_x + |xc|) + 2 |y|   (the running statistics exact)
    activation    E_a = (|f'(z)| + J) E_z + 4 (|a| + |z|), 0 where a = f' = J = 0 (a flat
                  ReLU: an exact 0 on both sides); row-wise: 2 (1 + |a|) max_row E_z + ...
    pool, dropout, flatten: the layer's own forward of E_x, + |y|

with J = how far f' moves within SAFETY u E_z of z. Each activation hands down a gradient that
may differ by ``J |da|`` per element; that difference is carried down the absolute chain (|W|,
|x|, a norm's three terms added, ``layered_terms``) to every parameter, where it is an absolute
allowance counted once (J is already the whole difference between the branches). Away from
kinks J is ~|f''| SAFETY u E_z, the first-order effect of the forward error on f'.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nnparity.scratch import Spec, activations, build
from nnparity.scratch.errors import SpecError
from nnparity.scratch.layers import Ctx
from nnparity.scratch.layers.norm import _channel_axes
from nnparity.scratch.spec_layers import is_activation
from nnparity.scratch.stack import _own  # a layer's arrays under their short keys

from .layered_terms import _abs_vjp
from .roundoff import SAFETY

Array = np.ndarray
_LINEAR = ("dense", "conv")
_NORMS = ("batchnorm", "layernorm")


def _slope(layer: Any, z: Array) -> Array:
    """|f'(z)| of an elementwise activation layer."""
    a = layer.forward({}, z, Ctx(True, None, None))[0]
    return np.abs(layer.backward({}, (z, a), np.ones_like(z), True)[0])


def _norm_envelope(name: str, cache: Any, Ex: Array, x: Array, u: float):
    """(E_xhat, E_mu, E_var) in units of u, the statistics' kept as size 1 (None in eval)."""
    axes = tuple(range(1, x.ndim)) if name == "layernorm" else _channel_axes(x.ndim)[0]
    xc, rstd = np.abs(cache.xc), cache.rstd
    if not cache.batch_stats:
        return rstd * (Ex + xc) + 2 * xc * rstd, None, None
    m = x.size // rstd.size
    Emu = Ex.mean(axis=axes, keepdims=True) + m * np.abs(x).mean(axis=axes, keepdims=True)
    Exc = Ex + Emu + xc
    Evar = (2 * xc * Exc).mean(axis=axes, keepdims=True) + (m + 2) * (xc**2).mean(
        axis=axes, keepdims=True
    )
    Evar = Evar + SAFETY * u * (Exc**2).mean(axis=axes, keepdims=True)  # xc's error squared:
    # the whole variance where xc is 0 exactly (a channel whose values are all equal)
    return rstd * Exc + xc * rstd * (rstd**2 * Evar / 2 + 2), Emu, Evar


def forward_allowances(
    spec: Spec, params: dict[str, Array], X: Array, y: Array, state: Any, masks: dict, u: float
) -> dict[tuple[str, str], Array]:
    """Absolute allowances from the forward round-off (module docstring): per gradient, the
    cached inputs' error times the gradient they meet and the derivative flips at kinks; per
    running statistic, the batch statistics' error. Empty where the spec cannot be run."""
    try:
        return _allowances(spec, params, X, y, state, masks, u)
    except (KeyError, ValueError, TypeError, SpecError):  # arrays that do not fit the spec
        return {}


def undetermined(fwd: dict[tuple[str, str], Array], grads: dict[str, Array]) -> list[str]:
    """The gradients whose forward allowance exceeds a tenth of their largest element at half
    their elements or more: undetermined by the data, not merely rounded."""
    out = []
    for n, g in grads.items():
        F = fwd.get(("grad", n))
        if F is not None and np.size(F) and F.shape == np.shape(g):
            scale = float(np.abs(np.asarray(g, np.float64)).max(initial=0.0))
            if np.mean(F > 0.1 * scale) >= 0.5 and F.max() > 0:
                out.append(n)
    return out


def _allowances(spec, params, X, y, state, masks, u):  # noqa: ANN001, ANN202
    net = build(spec.replace(dtype="float64"))
    P = {n: np.asarray(v, dtype=np.float64) for n, v in params.items()}
    bufs = {n: np.asarray(v, dtype=np.float64) for n, v in (state.buffers or {}).items()}
    a = np.asarray(X, dtype=np.float64)
    E = np.zeros_like(a)
    S = SAFETY * u
    caches, jumps, slopes, inputs = [], [], [], []
    out_: dict[tuple[str, str], Array] = {}
    with np.errstate(all="ignore"):
        for s, c in zip(net.slots, spec.stack, strict=True):
            own = {**_own(P, s.number), **_own(bufs, s.number)}
            mask = (masks or {}).get(f"mask{s.number}") if s.layer.has_mask else None
            ctx = Ctx(True, None, None if mask is None else np.asarray(mask))
            out, cache, _ = s.layer.forward(own, a, ctx)
            J = f1 = err_in = None
            if c.name in _LINEAR:
                lin = {"W": np.abs(own["W"])}
                n_in = own["W"].size // own["W"].shape[-1 if c.name == "dense" else 0]
                absx = s.layer.forward({**lin, **({"b": np.abs(own["b"])} if "b" in own else {})},
                                       np.abs(a), ctx)[0]  # fmt: skip
                EW, err_in, _ = s.layer.forward(lin, S * E, ctx)  # the input's error, cached
                E = EW / S + (n_in + 1) * absx
            elif c.name in _NORMS:
                Exhat, Emu, Evar = _norm_envelope(c.name, cache, E, a, u)
                err_in = S * Exhat
                E = np.abs(own["gamma"]).reshape(_vec(c.name, a, own["gamma"])) * Exhat
                E = E + 2 * np.abs(out)
                if Emu is not None and c.name == "batchnorm" and "running_mean" in own:
                    mom, m = _momentum(c), a.size // a.shape[1]
                    rm, rv = own["running_mean"], own["running_var"]
                    out_[("buffers", f"running_mean{s.number}")] = mom * S * Emu.reshape(-1) + S * (
                        np.abs(rm)
                    )
                    out_[("buffers", f"running_var{s.number}")] = mom * m / max(m - 1, 1) * S * (
                        Evar.reshape(-1)
                    ) + S * np.abs(rv)
            elif is_activation(c.name) and "elementwise" in activations[c.name].tags:
                f1 = _slope(s.layer, a)
                d = S * E
                J = np.maximum(np.abs(_slope(s.layer, a + d) - f1),
                               np.abs(_slope(s.layer, a - d) - f1))  # fmt: skip
                flat = (out == 0) & (f1 == 0) & (J == 0)
                E = np.where(flat, 0.0, (f1 + J) * E + 4 * (np.abs(out) + np.abs(a)))
            elif is_activation(c.name):  # row-wise (softmax): smooth, a bound on its Jacobian
                Emax = E.max(axis=1, keepdims=True)
                E = 2 * (1 + np.abs(out)) * Emax + 4 * (np.abs(out) + np.abs(a).max())
            else:  # pool, dropout, flatten
                E = np.abs(s.layer.forward({}, E, ctx)[0]) + np.abs(out)
            caches.append(cache)
            inputs.append(err_in)
            jumps.append(J)
            slopes.append(f1)
            a = out
        g = net.loss_fn.grad(a, y if y.dtype.kind == "i" else np.asarray(y, np.float64))
        flip = np.zeros_like(g)
        for i in range(len(net.slots) - 1, -1, -1):
            s, c = net.slots[i], spec.stack[i]
            real = _own(P, s.number)
            g_below = s.layer.backward(real, caches[i], g, True)[0]
            if jumps[i] is not None:
                flip = flip * (slopes[i] + jumps[i]) + jumps[i] * np.abs(g)
                g = g_below
                continue
            own_err = _input_error(c.name, s, P, inputs[i], np.abs(g) + flip)
            flip, gr = _abs_vjp(c.name, s, P, caches[i], flip, i > 0)
            for k, v in gr.items():
                extra = own_err.get(k, 0.0)
                out_[("grad", f"{k}{s.number}")] = np.abs(v) + extra
            g = g_below
    return {k: np.where(np.isfinite(v), v, 0.0) for k, v in out_.items()}


def _vec(name: str, x: Array, gamma: Array) -> tuple[int, ...]:
    if name == "layernorm":
        return np.shape(gamma)
    return _channel_axes(x.ndim)[1]


def _momentum(c: Any) -> float:
    return float(c.kwargs.get("momentum", 0.1))


def _input_error(name: str, s: Any, P: dict, err: Any, ag: Array) -> dict:
    """|d param| from the error of what the layer cached in the forward: W's from its input's
    (dense, conv), gamma's from xhat's (norms); ``ag`` bounds the gradient the layer meets
    (|g| and what flips above can add to it)."""
    if err is None:
        return {}
    if name in _LINEAR:
        own = {k: np.abs(v) for k, v in _own(P, s.number).items()}
        return {"W": np.abs(s.layer.backward(own, err, ag, False)[1]["W"])}
    axes = (0,) if name == "layernorm" else _channel_axes(ag.ndim)[0]
    return {"gamma": (ag * err).sum(axis=axes)}
