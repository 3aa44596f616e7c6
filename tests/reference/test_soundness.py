"""Soundness sweeps (issue 9): no false alarm on a random sample of the full product, and
planted bugs of every class caught down to 1e-6 relative in float64 (resync mode) wherever the
bug moves a compared value above its round-off allowance.

The sample is seeded: ``NNPARITY_SOUNDNESS_SEED`` (default 2026, fixed so that CI is
reproducible) replays a run; the seed and the figures are printed in the "nnparity soundness"
section of pytest's summary.
"""

from __future__ import annotations

import os
import random

import numpy as np
import pytest

from nnparity.reference.engine import run_parity
from nnparity.reference.matrix import Axes, product
from nnparity.reference.roundoff import Envelope
from nnparity.scratch import Optimizer, Spec, build, make_data

SEED = int(os.environ.get("NNPARITY_SOUNDNESS_SEED", "2026"))
N_CONFIGS = 1000  # of the full product (46,124 specs)
STEPS = 2  # step 2 has a non-empty optimizer state and, in free mode, drift
N_PLANTED = 16  # float64 configurations per (bug class, magnitude)
MAGNITUDES = (1e-1, 1e-3, 1e-6)
MARGIN = 10.0  # a bug counts as visible when it moves a value by 10x its round-off allowance


def test_no_false_alarm_on_a_random_sample_of_the_full_product(summary):
    specs = random.Random(SEED).sample(product(Axes()), N_CONFIGS)
    failures = []
    for spec in specs:
        for mode in ("free", "resync"):
            result = run_parity(spec, STEPS, mode, finite_differences=False)
            if not result.passed:
                failures.append(f"{mode}: {result.message().splitlines()[0]}")
    summary.append(
        f"no-false-alarm sweep: seed {SEED} (NNPARITY_SOUNDNESS_SEED), {len(specs)} "
        f"configurations x 2 modes x {STEPS} steps: {len(failures)} false alarms"
    )
    assert not failures, "\n".join(failures[:10])


# -- planted bugs -----------------------------------------------------------------------------
class Planted:
    """A network with one planted bug: any object with ``Network``'s methods will do."""

    def __init__(self, net, kind: str, eps: float, target: str, element: int):
        self.kind, self.eps, self.target, self.element = kind, eps, target, element
        if kind == "loss gradient scaled":
            g = net.loss_fn.grad
            net = net._replace(loss_fn=net.loss_fn._replace(grad=lambda a, y: g(a, y) * (1 + eps)))
        elif kind == "activation derivative scaled":
            act = net.acts[0]
            vjp = act.vjp
            wrong = act._replace(vjp=lambda z, a, d: vjp(z, a, d) * (1 + eps))
            net = net._replace(acts=(wrong, *net.acts[1:]))
        self.net = net
        self.opt = Optimizer(net.opt.init, self._update)

    def init_params(self):
        return self.net.init_params()

    def init_state(self, params):
        return self.net.init_state(params)

    def loss_and_grads(self, params, X, y):
        loss, grads, out = self.net.loss_and_grads(params, X, y)
        g = grads[self.target]
        if self.kind == "gradient scaled":
            grads = {**grads, self.target: g * (1 + self.eps)}
        elif self.kind == "one gradient element off":
            g = g.copy()
            g.flat[self.element % g.size] += self.eps * np.abs(g).max()
            grads = {**grads, self.target: g}
        elif self.kind == "output scaled":
            out = out * (1 + self.eps)
        return loss, grads, out

    def _update(self, grads, state, params):
        new, st = self.net.opt.update(grads, state, params)
        if self.kind == "learning rate off":
            new = {k: params[k] + (v - params[k]) * (1 + self.eps) for k, v in new.items()}
        elif self.kind == "optimizer state scaled":
            key = next(k for k, v in st._asdict().items() if k != "step" and v)
            bufs = getattr(st, key)
            st = st._replace(**{key: {n: v * (1 + self.eps) for n, v in bufs.items()}})
        return new, st


CLASSES = (
    "gradient scaled",
    "one gradient element off",
    "loss gradient scaled",
    "activation derivative scaled",
    "learning rate off",
    "optimizer state scaled",
    "output scaled",
)


def _step_values(net, spec, p, X, y):
    loss, grads, out = net.loss_and_grads(p, X, y)
    state = net.init_state(p)
    new, st = net.opt.update(grads, state, p)
    vals = {("forward", "output"): out, ("loss", "loss"): loss}
    vals.update({("grad", n): v for n, v in grads.items()})
    vals.update({("update", n): v for n, v in new.items()})
    for key, bufs in st._asdict().items():
        if key != "step" and bufs:
            vals.update({("optimizer_state", f"{key}.{n}"): v for n, v in bufs.items()})
    return vals


def _visible(spec, bug, correct) -> bool:
    """Does the bug move some compared value of step 1 by more than MARGIN x its round-off
    allowance (and more than 1e-7 relative, the float64 floor)? Computed from scratch's float64
    values and the engine's own envelope, so it is the bound that is tested, not assumed."""
    p = correct.init_params()
    X, y = make_data(spec)
    good, bad = _step_values(correct, spec, p, X, y), _step_values(bug, spec, p, X, y)
    env = Envelope(spec)
    P = {k: v.astype(np.float64) for k, v in p.items()}
    gb = env.grads(P, X, y)
    grads = {n: good[("grad", n)] for n in P}
    gbound = {n: gb[("grad", n)] for n in P}
    bounds = {**gb, **env.step(P, correct.init_state(P), grads, gbound)}
    for key, g in good.items():
        d = np.abs(np.asarray(bad[key], np.float64) - np.asarray(g, np.float64))
        floor = 2e-7 * (np.abs(g) + np.abs(np.asarray(g)).max())
        if np.any(d > MARGIN * bounds.get(key, 0.0) + floor):
            return True
    return False


def test_planted_bugs_are_caught_down_to_1e_6_relative_in_float64(summary):
    rng = random.Random(SEED + 1)
    pool = [s for s in product(Axes()) if s.dtype == "float64" and not s.layered]  # dense: net=
    rows, missed = [], []
    for kind in CLASSES:
        for eps in MAGNITUDES:
            n = eligible = caught = caught_eligible = 0
            for spec in rng.sample(pool, N_PLANTED):
                correct = build(spec)
                if kind == "optimizer state scaled" and not any(
                    v
                    for k, v in correct.init_state(correct.init_params())._asdict().items()
                    if k != "step"
                ):
                    continue  # plain SGD keeps no state
                names = list(correct.init_params())
                bug = Planted(correct, kind, eps, rng.choice(names), rng.randrange(1 << 30))
                failed = not run_parity(spec, STEPS, "resync", net=bug,
                                        finite_differences=False).passed  # fmt: skip
                visible = _visible(spec, bug, correct)
                n += 1
                eligible += visible
                caught += failed
                caught_eligible += failed and visible
                if visible and not failed:
                    missed.append(f"{kind} x(1+{eps:g}) on {bug.target}: {spec}")
            rows.append((kind, eps, n, eligible, caught_eligible, caught))
    summary.append(
        f"planted-bug sweep (float64, resync, {STEPS} steps, seed {SEED + 1}): detection rate "
        f"per class; 'visible' = the bug moves some value of step 1 by > {MARGIN:g}x its "
        "round-off allowance"
    )
    summary.append(f"  {'class':30} {'magnitude':>9} {'runs':>5} {'visible':>8} "
                   f"{'caught/visible':>15} {'caught/all':>11}")  # fmt: skip
    for kind, eps, n, el, ce, c in rows:
        summary.append(
            f"  {kind:30} {eps:9.0e} {n:5d} {el:8d} {ce:>9d}/{el:<5d} {c / max(n, 1):11.0%}"
        )
    assert not missed, "\n".join(missed)


@pytest.mark.parametrize("kind", CLASSES)
def test_every_planted_class_is_caught_at_a_large_magnitude(kind):
    """Each class is a real bug: at 10% it fails on a plain configuration."""
    spec = Spec.parse("4-6-5-3 tanh,sigmoid,identity loss=mse opt=adam(lr=0.01) seed=3")
    bug = Planted(build(spec), kind, 0.1, "W1", 0)
    assert not run_parity(spec, STEPS, "resync", net=bug).passed
