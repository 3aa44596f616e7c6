"""The update simulation on NumPy arrays (the variant search's fast path) is the simulation on
tensors, bit for bit: every optimizer, every variant, both dtypes, a fitted value or not."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from nnparity.reference.learner import optim_variants as ov
from nnparity.reference.learner.optim_catalog import VARIANTS
from nnparity.reference.learner.optim_sim import Sim

OPTIMIZERS = ["sgd", "adam", "adamw", "rmsprop", "adagrad"]


def _kw(name: str, rnd: random.Random) -> dict:
    kw = {"lr": 10 ** rnd.uniform(-3, -1), "_epoch": 2, "_kW": 0.01, "_kb": 0.0, "_l2": 0.01}
    if name == "sgd":
        kw |= {"momentum": 0.9, "dampening": rnd.choice([0.0, 0.1])}
        kw |= {"nesterov": rnd.random() < 0.5}
    if name == "rmsprop":
        kw |= {"centered": rnd.random() < 0.5, "momentum": rnd.choice([0.0, 0.9])}
    if name in ("adam", "adamw"):
        kw |= {"amsgrad": rnd.random() < 0.3}
    if rnd.random() < 0.5:
        kw["weight_decay"] = np.float64(0.01)  # a NumPy scalar, as a fit may give
    if rnd.random() < 0.5:
        kw["lr_decay"] = 0.01
    if rnd.random() < 0.5:
        key = rnd.choice([k for k in ov.FITTED if ov._applies(name, k, kw, ["W1"])])
        arg, (lo, hi), value_of = ov.FITTED[key]
        kw[arg] = value_of(rnd.uniform(lo, hi))
    return kw


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_every_variant_steps_the_same_on_arrays_as_on_tensors(name, dtype):
    for seed in range(6):
        rnd = random.Random(seed)
        torch.manual_seed(seed)
        kw = _kw(name, rnd)
        P = {f"W{i}": torch.randn(rnd.randint(1, 40), dtype=dtype) for i in (1, 2)}
        P |= {"b1": torch.randn(3, dtype=dtype), "b2": torch.zeros(2, dtype=dtype)}
        steps = [
            {n: torch.randn_like(p) * 10 ** rnd.uniform(-4, 2) for n, p in P.items()}
            for _ in range(4)
        ]
        steps[1]["W1"][0] = 0.0  # a zero gradient, a zero state
        for key in [None, *(k for k, _ in VARIANTS.get(name, []))]:
            on_tensors, on_arrays = Sim(name, kw, key), Sim(name, kw, key)
            p, q = dict(P), {n: t.numpy() for n, t in P.items()}
            for G in steps:
                p = on_tensors.step(p, G)
                q = on_arrays.step(q, {n: g.numpy() for n, g in G.items()})
                for n in p:
                    assert q[n].dtype == p[n].numpy().dtype, (key, n)
                    assert np.array_equal(p[n].numpy(), q[n], equal_nan=True), (seed, key, n)


def _excess_on_tensors(sim: Sim, flat: list, atol: float, rtol: float, seg) -> float:
    """The flat excess as torch computes it (each parameter's max |Q - P| by a scatter)."""
    worst = 0.0
    for P, G, A in flat:
        Q = sim.step(P, G)["_"]
        d = (Q - P["_"]).abs()
        top = torch.zeros(int(seg[-1]) + 1, dtype=d.dtype).scatter_reduce(0, seg, d, "amax")
        allowed = atol * top.clamp_min(1e-300)[seg] + rtol * Q.abs()
        e = float(((A["_"] - Q).abs() / allowed).max())
        worst = max(worst, e if e == e and e != float("inf") else float("inf"))
    return worst


def test_the_search_reads_the_same_excess_on_arrays_as_on_tensors():
    """``_excess`` of a flat sequence (on its arrays) is torch's computation of it, bit for
    bit (the variants that read a parameter's name are searched unflattened, ``PER_NAME``)."""
    for seed in range(20):
        rnd = random.Random(seed)
        torch.manual_seed(seed)
        name = OPTIMIZERS[seed % 5]
        dtype = (torch.float32, torch.float64)[seed % 2]
        kw = _kw(name, rnd)
        P = {f"W{i}": torch.randn(rnd.randint(1, 30), dtype=dtype) for i in (1, 2, 3)}
        truth, seq = Sim(name, kw), []
        for _ in range(4):
            G = {n: torch.randn_like(p) * 10 ** rnd.uniform(-3, 1) for n, p in P.items()}
            A = {n: a + 1e-9 * torch.randn_like(a) for n, a in truth.step(P, G).items()}
            seq.append((P, G, A))
            P = A
        flat, seg = ov._flat(seq)
        atol, rtol = (1e-5, 1.3e-6) if dtype == torch.float32 else (1e-7, 1e-7)
        for key in [None, *(k for k, _ in VARIANTS.get(name, []) if k not in ov.PER_NAME)]:
            on_tensors = _excess_on_tensors(Sim(name, kw, key), flat, atol, rtol, seg)
            assert ov._excess(Sim(name, kw, key), flat, atol, rtol, seg) == on_tensors, (seed, key)
