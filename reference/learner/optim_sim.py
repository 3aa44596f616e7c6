"""One optimizer stepping given parameters with given gradients: torch's update, or a named
departure from it (``variant``: the keys of ``optim_variants.VARIANTS``), on tensors. Under
``by_shape`` the parameters of one shape share one state, updated in their order; under a
``t_per_*`` variant Adam's step count t advances at each layer's (or parameter's) update, in
the order given (``_rev``: the reverse, as an update inside the backward loop), not once a
step."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from nnparity.scratch.schedules import Schedule, lr_at, mu_at, of

Tensor = torch.Tensor


class Sim:
    """One optimizer (torch's, or a variant) stepping given parameters with given gradients."""

    def __init__(self, name: str, kw: dict[str, Any], variant: str | tuple[str, ...] | None = None):
        parts = (variant,) if isinstance(variant, str) else tuple(variant or ())
        # (a NumPy scalar as the float it is: it meets a NumPy array as a Python float does)
        kw = {key: float(x) if isinstance(x, np.floating) else x for key, x in kw.items()}
        self.name, self.kw, self.v = name, kw, frozenset(parts)
        self.t = 0
        self.tk: dict[str, int] = {}  # each parameter's t this step, under a T_COUNTS variant
        self.s: dict[str, dict[str, Tensor]] = {}
        self.copies: Any = None  # each element's copy (an index), where a value is per copy

    def _st(self, k: str, key: str, like: Any, fill: Any = 0.0) -> Any:
        if k not in self.s or key not in self.s[k]:
            if isinstance(fill, np.ndarray):  # one per copy
                full = self._el(fill, like)  # (indexed: a new array)
            else:
                full = np.full_like(like, fill) if _np(like) else torch.full_like(like, fill)
            self.s.setdefault(k, {})[key] = full
        return self.s[k][key]

    def _el(self, x: Any, like: Any) -> Any:
        """A scalar as a Python float (a NumPy one would widen a float32 array); a value per
        copy (an array, ``each``) as each element's own, in ``like``'s dtype (the cast a
        scalar gets in an operation with ``like``)."""
        if isinstance(x, np.ndarray):
            if _np(like):
                return x.astype(like.dtype)[self.copies]
            return torch.from_numpy(x).to(like.dtype)[self.copies]
        return float(x) if isinstance(x, np.floating) else x

    def _mu(self, mu: float, kw: dict[str, Any]) -> float:
        """mu lr_(t-1) / lr_t under a declared schedule: the velocity holds the lr (nnfs,
        Keras; scratch's ``mu_at``)."""
        if bool(kw.get("lr_outside", False)) != ("torch_lr" in self.v):  # PyTorch's SGD with
            return mu  # LambdaLR: the buffer holds no lr
        sched = Schedule() if "no_lr_decay" in self.v else of(kw)
        return mu_at(mu, sched, self.t - 1) if sched and self.t > 1 else mu

    def step(self, P: dict[str, Any], G: dict[str, Any]) -> dict[str, Any]:
        """The parameters after one step: tensors, or NumPy arrays (the same arithmetic, a
        fraction of the time on small ones)."""
        self.t += 1
        self.tk = _counts(list(G), self.t, self.v) if self.v & T_COUNTS else {}
        with np.errstate(all="ignore"):  # (inf and NaN as torch makes them, silently)
            return {k: self._one(k, P[k], g) for k, g in G.items()}

    def _one(self, k: str, p: Any, g: Any) -> Any:
        kw, v, t = self.kw, self.v, self.tk.get(k, self.t)
        arr = _np(p)
        sqrt, maximum = (_sqrt, np.maximum) if arr else (torch.sqrt, torch.maximum)
        weight = k[0] == "W"  # (its state may be keyed otherwise below)
        if "by_shape" in v:  # one state for every parameter of this shape, in update order
            k = f"shape {tuple(p.shape)}"
        if "no_state" in v:  # the moments made anew (zeros) at every step
            self.s.pop(k, None)
        if "_clip" in kw:  # the learner clips each gradient element before its update
            c = kw["_clip"]
            g = np.clip(g, -c, c) if arr else g.clamp(-c, c)
        lr = kw.get("lr", {"sgd": 1e-3, "adam": 1e-3, "adamw": 1e-3}.get(self.name, 1e-2))
        if "no_lr_decay" not in v:  # every optimizer's, as Adagrad's
            lr = lr_at(lr, of(kw), self.t - 1)
        wd = kw.get("weight_decay", 1e-2 if self.name == "adamw" else 0.0)
        decoupled = (self.name == "adamw") != bool(v & {"coupled", "decoupled", "sgdw"})
        if wd and "no_decay" not in v and not decoupled:
            g = g - wd * p if "decay_sign" in v else g + wd * p
        if self.name == "sgd":
            if "sgdw" in v and wd:
                p = p * (1 - lr * wd)
            if "decay_fit" in v:  # an extra L2 decay, fitted (decay.py)
                g = g + (kw["_kW"] if weight else kw["_kb"]) * p
            if "sgdw_l2" in v and weight:  # g carries the declared L2 term: take it out
                g, p = g - kw["_l2"] * p, p * (1 - lr * kw["_l2"])
            mu, tau = kw.get("momentum", 0.0), kw.get("dampening", 0.0)
            if mu and "no_momentum" not in v:
                tau = 1 - mu if "ema" in v else (0.0 if "no_dampening" in v else tau)
                if "b" not in self.s.get(k, {}):  # the first step (torch: no buffer yet)
                    b = (1 - tau) * g if ("damp_first" in v or "ema" in v) else _clone(g)
                else:
                    decay = -1.0 if "mu_flip" in v else 1.0  # v = -mu v - lr g
                    b = decay * self._mu(mu, kw) * self.s[k]["b"] + (1 - tau) * g
                self.s.setdefault(k, {})["b"] = b
                nesterov = bool(kw.get("nesterov", False)) != ("nesterov_flip" in v)
                ahead = -mu if "nesterov_sign" in v else mu  # w += -mu v - lr g
                if nesterov and "nesterov_mu2" in v:  # w += mu^2 v_new - (1 + mu) lr g
                    g = (1 + mu) * g + mu * mu * b
                else:
                    g = g + ahead * b if nesterov else b
            return p - lr * g
        eps = kw.get("eps", 1e-10 if self.name == "adagrad" else 1e-8)
        if self.name in ("adam", "adamw"):
            b1, b2 = kw.get("beta1", 0.9), kw.get("beta2", 0.999)
            if "betas_swapped" in v:  # Adam(lr, 0.999, 0.9): each moment the other's beta
                b1, b2 = b2, b1
            shrink = 1 - lr * wd if decoupled and "no_decay" not in v else 1.0
            if "decay_sign" in v and decoupled:  # w *= 1 + lr wd: the decay's sign slipped
                shrink = 1 + lr * wd
            if "decay_no_lr" in v and decoupled:  # w *= 1 - wd: the lr left out
                shrink = 1 - wd
            after = "decay_after" in v  # the decay applied to the updated weights
            p = p if after else p * shrink
            a1, a2 = kw.get("_avg1", b1), kw.get("_avg2", b2)  # the averages' own betas
            el = self._el
            m = self._st(k, "m", p)
            if "own_m" in v:  # m = b1 m + b1 g
                m *= el(a1, p)
                m += el(a1, p) * g
            elif "swap_m" in v:  # m = (1 - b1) m + b1 g
                m *= el(each(lambda a: 1 - a, a1), p)
                m += el(a1, p) * g
            else:
                m += el(each(lambda a: 1 - a, a1), p) * (g - m)
            vv = self._st(k, "v", p)
            c2 = a2 if "own_v" in v else each(lambda a: 1 - a, a2)
            if "swap_v" in v:  # v = (1 - b2) v + b2 g^2
                c2, a2 = a2, each(lambda a: 1 - a, a2)
            vv *= el(a2, p)
            vv += el(c2, p) * (abs(g) if "v_abs" in v else g * g)
            if bool(kw.get("amsgrad", False)) != ("amsgrad_flip" in v):
                mx = self._st(k, "vmax", p)
                maximum(mx, vv, out=mx)
                vv = mx
            t = 2 * t if "t_twice" in v else t
            t = -(-t // kw["_epoch"]) if "t_epoch" in v else t  # once per pass: ceil(t / k)
            t1 = t + 1 if v & {"t_ahead", "t_ahead_m"} else (1 if "t_frozen" in v else t)
            t2 = t + 1 if v & {"t_ahead", "t_ahead_v"} else (1 if "t_frozen" in v else t)
            t1 = t1 - 1 if v & {"t_behind", "t_behind_m"} else t1  # 0 at the first step:
            t2 = t2 - 1 if v & {"t_behind", "t_behind_v"} else t2  # a correction of 0
            # as NumPy floats: a correction of 0 divides to inf or NaN, as the learner's does
            bc1 = each(lambda b: np.float64(1 - b**t1), kw.get("_bc1", b1))
            bc2 = each(lambda b: np.float64(1 - b**t2), kw.get("_bc2", b2))
            if "bc_pow" in v:  # (1 - b)^t for 1 - b^t
                bc1 = each(lambda b: np.float64((1 - b) ** t1), b1)
                bc2 = each(lambda b: np.float64((1 - b) ** t2), b2)
            if "no_bias_correction" in v or "no_bc_m" in v:
                bc1 = 1.0
            if "no_bias_correction" in v or "no_bc_v" in v:
                bc2 = 1.0
            if "bc_in_place" in v:  # m /= 1 - b1^t in place: the state keeps m_hat
                m /= el(bc1, p)
                vv /= el(bc2, p)
                bc1 = bc2 = 1.0
            if "g_numerator" in v:  # m_hat's place taken by g
                new = p - lr * g / (sqrt(vv) / el(np.sqrt(bc2), p) + eps)
            elif "mv_swapped" in v:
                new = p - lr * (vv / el(bc2, p)) / (sqrt(abs(m / el(bc1, p))) + eps)
            elif "eps_inside" in v:
                new = p - lr * (m / el(bc1, p)) / sqrt(vv / el(bc2, p) + eps)
            elif "no_sqrt" in v:  # v_hat where its square root belongs
                new = p - lr * (m / el(bc1, p)) / (vv / el(bc2, p) + eps)
            elif "eps_hat" in v:
                new = p - el(lr * np.sqrt(bc2) / bc1, p) * m / (sqrt(vv) + eps)
            else:
                new = p - el(lr / bc1, p) * m / (sqrt(vv) / el(np.sqrt(bc2), p) + eps)
            return new * shrink if after else new
        if self.name == "rmsprop":
            a = kw.get("alpha", 0.99)
            s = self._st(k, "s", p)
            sq = abs(g) if "v_abs" in v else g * g
            keep, new_w = a, a if "rms_own" in v else each(lambda x: 1 - x, a)
            if "swap_v" in v:  # s = (1 - a) s + a g^2
                keep, new_w = each(lambda x: 1 - x, a), a
            s *= self._el(keep, p)
            s += self._el(new_w, p) * sq
            avg = s
            if kw.get("centered", False):
                gb = self._st(k, "gb", p)
                gb += self._el(each(lambda x: 1 - x, a), p) * (g - gb)
                avg = s - gb * gb
            if v & {"rms_bc", "rms_bc_behind"}:  # Adam's correction, which RMSprop has not
                tt = t - 1 if "rms_bc_behind" in v else t  # 0 at the first step: s / 0
                avg = avg / self._el(each(lambda x: np.float64(1 - x**tt), a), p)
            d = sqrt(avg + eps) if "eps_inside" in v else sqrt(avg) + eps
            if kw.get("momentum", 0.0):
                b = self._st(k, "b", p)
                b *= self._mu(kw["momentum"], kw)
                b += g / d
                return p - lr * b
            return p - lr * g / d
        clr = lr
        S = self._st(k, "S", p, kw.get("initial_accumulator_value", 0.0))
        S += abs(g) if "v_abs" in v else g * g
        d = sqrt(S + eps) if "eps_inside" in v else sqrt(S) + eps
        return p - clr * g / d


def _np(x: Any) -> bool:
    return isinstance(x, np.ndarray)


def _clone(x: Any) -> Any:
    return x.copy() if _np(x) else x.clone()


def _sqrt(x: np.ndarray) -> np.ndarray:
    """torch's square root of an array: its float32 one is not NumPy's (not always the
    nearest float: 1 ulp apart seen), and the simulation is torch's arithmetic."""
    return torch.sqrt(torch.from_numpy(x)).numpy()


def each(f: Callable[[float], Any], x: Any) -> Any:
    """``f(x)``; of each copy's value where ``x`` is one per copy (an array): the same Python
    float arithmetic as one value's (a NumPy power of an array may round otherwise)."""
    if not isinstance(x, np.ndarray):
        return f(x)
    return np.array([f(value) for value in x.tolist()], dtype=np.float64)


T_COUNTS = frozenset({"t_per_layer", "t_per_layer_rev", "t_per_param", "t_per_param_rev",
                      "t_per_param_layers_rev"})  # fmt: skip
_PER_PARAM = frozenset({"t_per_param", "t_per_param_rev", "t_per_param_layers_rev"})
_REV = frozenset({"t_per_layer_rev", "t_per_param_rev"})
_LAYERS_REV = frozenset({"t_per_param_layers_rev"})  # layers last first, in order within


def _unit(name: str, v: frozenset) -> str:
    """What t counts under variant ``v``: the parameter, or its layer (W3 and b3: "3")."""
    return name if v & _PER_PARAM else name.lstrip("Wb")


def units(names: list[str], v: frozenset) -> list[str]:
    """The units t counts (``_unit``) in the order ``names`` are updated (reversed under a
    ``_rev`` variant: the update inside the backward loop, last layer first; under
    ``t_per_param_layers_rev`` the layers reversed, each layer's parameters in order)."""
    out = list(dict.fromkeys(_unit(n, v) for n in names))
    if v & _LAYERS_REV:  # W2, b2, W1, b1: each layer's own order, the layers reversed
        layers = list(dict.fromkeys(n.lstrip("Wb") for n in out))
        return [n for l in layers[::-1] for n in out if n.lstrip("Wb") == l]
    return out[::-1] if v & _REV else out


def _counts(names: list[str], t: int, v: frozenset) -> dict[str, int]:
    """Each parameter's t at step ``t`` when t advances at each unit's update."""
    at = {u: i + 1 for i, u in enumerate(units(names, v))}
    return {n: (t - 1) * len(at) + at[_unit(n, v)] for n in names}
