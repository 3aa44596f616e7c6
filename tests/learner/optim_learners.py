"""The optimizer learners of the optimizer-naming tests: a learner whose own Adam or RMSprop
(from_step, or with its gradients shown) updates its weights in place, each bug planted by name,
and the checks the tests run on it."""

from __future__ import annotations

import numpy as np

from nnparity.reference.learner import check, from_gradients, from_step

NAMES = ["W1", "b1", "W2", "b2"]


class Learner:
    """d-H-1 tanh regression, mse (mean over the batch), its own optimizer in place.

    ``bug``: ``lr`` (lr x (1 + value)), ``gscale`` (gradients x value), ``eps``, ``beta1``,
    ``beta2`` (used consistently, in the average and the correction), ``avg_beta1``,
    ``avg_beta2`` (in the moving average alone), ``mix_m``, ``mix_v`` ((1 - b2) in m's
    average, (1 - b1) in v's), ``alpha`` (RMSprop),
    ``t_ahead`` (the corrections at t + 1), ``eps_hat`` (eps added before the correction),
    ``t_per_layer``, ``t_per_param`` (t advanced at each layer's or parameter's update; their
    ``_rev``: the parameters updated last first), ``no_state`` (the moments zeroed each step),
    ``g_numerator`` (g for m_hat), ``mv_swapped`` (v_hat / (sqrt(|m_hat|) + eps)),
    ``betas_swapped`` (beta2 for m, beta1 for v), ``v_abs`` (v or s averaged over |g|),
    ``swap_m``, ``swap_v`` (an average's two weights swapped), ``nosqrt`` (no root),
    ``wd_sign`` (the decay subtracted), ``quartic_W1`` (W1's v over g^4: no variant has it)."""

    def __init__(
        self, opt="adam", lr=0.01, bug=None, value=None, d=3, H=6, seed=0, wd=0.0, dtype=None
    ):
        rng = np.random.default_rng(seed)
        self.P = {
            "W1": rng.normal(0, 1 / np.sqrt(d), (d, H)),
            "b1": rng.normal(0, 0.1, H),
            "W2": rng.normal(0, 1 / np.sqrt(H), (H, 1)),
            "b2": np.zeros(1),
        }
        self.P = {k: v.astype(dtype or np.float64) for k, v in self.P.items()}
        self.S = {k: [np.zeros_like(v), np.zeros_like(v)] for k, v in self.P.items()}
        self.opt, self.lr, self.bug, self.value, self.t = opt, lr, bug, value, 0
        self.wd = wd  # L2 weight decay added to the gradient, as torch's Adam adds it
        self.vmax: dict = {}  # (bug amsgrad)

    def grads(self, X, y):
        P = self.P
        a1 = np.tanh(X @ P["W1"] + P["b1"])
        out = a1 @ P["W2"] + P["b2"]
        d = 2 * (out - y) / out.size
        dz1 = d @ P["W2"].T * (1 - a1**2)
        g = {"W1": X.T @ dz1, "b1": dz1.sum(0), "W2": a1.T @ d, "b2": d.sum(0)}
        if self.bug == "gscale":
            g = {k: v * self.value for k, v in g.items()}
        return g

    def step(self, X, y):
        self.update(self.grads(X, y))

    def shown(self, X, y):
        """The gradients, shown (``from_gradients`` style), kept for ``update``."""
        self.last = self.grads(X, y)
        return self.last

    def update(self, g):
        self.t += 1
        bug, val, t = self.bug, self.value, self.t
        lr = self.lr * (1 + val) if bug == "lr" else self.lr
        if bug == "decay":  # an exponential schedule
            lr = self.lr * val ** (t - 1)
        if bug == "invdecay":  # Keras's and nnfs's decay
            lr = self.lr / (1 + val * (t - 1))
        if bug == "invdecay_from1":  # the same, its step counter advanced before the update
            lr = self.lr / (1 + val * t)
        eps = val if bug in ("eps", "eps_hat_eps") else 1e-8
        sign = -1.0 if bug == "wd_sign" else 1.0  # the decay added with a minus sign
        g = {k: g[k] + sign * self.wd * p for k, p in self.P.items()}
        if bug == "clip":  # elementwise clipping before the update
            g = {k: np.clip(v, -val, val) for k, v in g.items()}
        items = list(self.P.items())
        if bug == "t_per_param_layers_rev":  # W2, b2, W1, b1: inside the backward loop
            items = items[2:] + items[:2]
        elif bug and bug.endswith("_rev"):
            items = items[::-1]
        for i, (k, p) in enumerate(items):
            m, v = self.S[k]
            if bug == "no_state":  # the moments made anew at every step (a hasattr typo)
                m[...], v[...] = 0.0, 0.0
            if bug == "t_twice":  # t advanced twice a step (a second t += 1 in update)
                t = 2 * self.t
            if bug == "t_epoch":  # t advanced once per pass of ``value`` steps (dlai's epoch loop)
                t = -(-self.t // val)
            if bug and bug.startswith("t_per_"):  # t advanced inside each unit's update
                per_layer = bug.startswith("t_per_layer")
                t = (self.t - 1) * (2 if per_layer else 4) + (i // 2 if per_layer else i) + 1
            if self.opt == "rmsprop":
                a = val if bug == "alpha" else 0.99
                keep, new = (1 - a, a) if bug == "swap_v" else (a, a if bug == "rms_own" else 1 - a)
                v *= keep
                v += new * (abs(g[k]) if bug == "v_abs" else g[k] ** 2)
                vh = v
                if bug in ("rms_bc", "rms_bc_behind"):  # Adam's correction on RMSprop's s
                    with np.errstate(divide="ignore"):
                        vh = v / (1 - a ** (t - (bug == "rms_bc_behind")))
                p -= lr * g[k] / (np.sqrt(vh) + eps)
                continue
            if bug == "quartic_W1" and k == "W1":  # v over g^4: no variant has it
                v *= 0.999
                v += 1e-3 * g[k] ** 4
                p -= (
                    lr * (m / (1 - 0.9**t) if t > 1 else g[k]) / (np.sqrt(v / (1 - 0.999**t)) + eps)
                )
                continue
            if bug == "nosqrt":  # v_hat where its root belongs (named since review s30a)
                m *= 0.9
                m += 0.1 * g[k]
                v *= 0.999
                v += 1e-3 * g[k] ** 2
                p -= lr * (m / (1 - 0.9**t)) / (v / (1 - 0.999**t) + eps)
                continue
            if bug == "swap_m":  # m = (1 - b1) m + b1 g
                m *= 0.1
                m += 0.9 * g[k]
                v *= 0.999
                v += 1e-3 * g[k] ** 2
                p -= lr * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + eps)
                continue
            b1 = val if bug == "beta1" else 0.9
            b2 = val if bug == "beta2" else 0.999
            if bug == "betas_swapped":  # Adam(lr, 0.999, 0.9): the betas in the wrong order
                b1, b2 = b2, b1
            a1 = val if bug == "avg_beta1" else b1  # the moving averages' own betas
            a2 = val if bug == "avg_beta2" else b2
            m *= a1
            m += (1 - (b2 if bug == "mix_m" else a1)) * g[k]  # mix_m: (1 - b2) in m's average
            if bug == "own_m":  # m = b1 m + b1 g
                m += (2 * a1 - 1) * g[k]
            sq = np.abs(g[k]) if bug == "v_abs" else g[k] ** 2  # v_abs: |g| where g^2 belongs
            if bug == "swap_v":  # v = (1 - b2) v + b2 g^2
                v *= 1 - a2
                v += a2 * sq
            else:
                v *= a2
                v += (a2 if bug == "own_v" else 1 - (b1 if bug == "mix_v" else a2)) * sq
            if bug == "bc_in_place":  # the corrected moments written back into the state
                m /= 1 - b1**t
                v /= 1 - b2**t
                p -= lr * m / (np.sqrt(v) + eps)
                continue
            if bug in ("eps_hat", "eps_hat_eps"):  # Kingma & Ba's efficient form
                p -= lr * np.sqrt(1 - b2**t) / (1 - b1**t) * m / (np.sqrt(v) + eps)
                continue
            if bug == "amsgrad":  # AMSGrad's running maximum of v
                vm = self.vmax.setdefault(k, np.zeros_like(v))
                np.maximum(vm, v, out=vm)
                p -= lr * (m / (1 - b1**t)) / (np.sqrt(vm / (1 - b2**t)) + eps)
                continue
            if bug in ("g_numerator", "mv_swapped"):  # g for m_hat; m and v swapped (|m|)
                mh, vh = m / (1 - b1**t), v / (1 - b2**t)
                num, den = (g[k], vh) if bug == "g_numerator" else (vh, np.abs(mh))
                p -= lr * num / (np.sqrt(den) + eps)
                continue
            t1 = t + 1 if bug in ("t_ahead", "t_ahead_m") else (1 if bug == "t_frozen" else t)
            t2 = t + 1 if bug == "t_ahead" else (1 if bug == "t_frozen" else t)
            if bug == "t_behind":  # Ng's course: t advanced after the update, 0 at first
                t1 = t2 = t - 1
            if bug in ("t_behind_v", "t_behind_m"):  # nnfs with one "+ 1" left out
                t1, t2 = (t1, t - 1) if bug == "t_behind_v" else (t - 1, t2)
            if bug == "bc_pow":  # deeplearning.ai's slip: np.power(1 - beta1, t)
                p -= lr * (m / (1 - b1) ** t) / (np.sqrt(v / (1 - b2) ** t) + eps)
                continue
            p -= lr * (m / (1 - b1**t1)) / (np.sqrt(v / (1 - b2**t2)) + eps)


def data(n=32, d=3, seed=1):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    return X, np.sin(X @ rng.normal(size=(d, 1)))


def learner(opt="adam", bug=None, value=None, lr=0.01, style="step", declare=None, **kw):
    """``style``: ``step`` (from_step, gradients hidden) or ``gradients`` (from_gradients
    with the learner's own update as ``step``)."""
    net = Learner(opt, lr, bug, value, **kw)
    decl = dict(
        sizes=[3, net.P["W1"].shape[1], 1],
        activations="tanh,identity",
        loss="mse",
        optimizer=opt,
        lr=lr,
    )
    if kw.get("wd"):
        decl["weight_decay"] = kw["wd"]
    decl.update(declare or {})
    if style == "gradients":
        return from_gradients(
            net.P, NAMES, net.shown, step=lambda X, y: net.update(net.last), **decl
        )
    return from_step(net.P, NAMES, net.step, **decl)


X, Y = data()


def _check(opt="adam", bug=None, value=None, **kw):
    return check(learner(opt, bug, value, **kw), X, Y, steps=5, probe=False)


def _finding(r):
    assert r.code == "implementation_bug", r.render()
    assert r.codes() == ["optimizer_update_mismatch"], r.render()
    return r.findings[0]
