"""The update variant search's shortcuts give what the plain evaluations give: a grid of
clip bounds or eps values simulated at once (``_excess_at``), an excess cut short once past
``stop``, and the least point of a grid found with evaluations cut short."""

from __future__ import annotations

import math
import random

import pytest
import torch

from nnparity.reference.learner import flat_excess
from nnparity.reference.learner import optim_variants as ov
from nnparity.reference.learner.optim_sim import Sim

TOLS = {torch.float32: (1e-5, 1.3e-6), torch.float64: (1e-7, 1e-7)}


def _run(seed: int) -> tuple[str, dict, list, torch.dtype]:
    """A few steps of a random optimizer with a clip or an eps of its own, on random
    parameters of random sizes, the weights after each step perturbed a little."""
    rnd = random.Random(seed)
    torch.manual_seed(seed)
    dtype = rnd.choice([torch.float32, torch.float64])
    name = rnd.choice(["adam", "adamw", "sgd", "rmsprop", "adagrad"])
    kw = {"lr": 10 ** rnd.uniform(-3, -1)}
    if name == "sgd" and rnd.random() < 0.5:
        kw["momentum"] = 0.9
    P = {f"W{i}": torch.randn(rnd.randint(1, 30), dtype=dtype) for i in range(rnd.randint(1, 4))}
    own = {"_clip": 10 ** rnd.uniform(-3, 0)} if seed % 2 else {"eps": 10 ** rnd.uniform(-9, -2)}
    truth, seq = Sim(name, {**kw, **own}), []
    for _ in range(3):
        G = {n: torch.randn_like(p) * 10 ** rnd.uniform(-3, 1) for n, p in P.items()}
        A = {n: a + 1e-9 * rnd.random() * torch.randn_like(a) for n, a in truth.step(P, G).items()}
        seq.append((P, G, A))
        P = A
    return name, kw, seq, dtype


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("limit", [flat_excess.AT_ONCE_LIMIT, 97])  # 97: in chunks
def test_a_grid_at_once_is_the_grid_one_by_one(seed, limit, monkeypatch):
    monkeypatch.setattr(flat_excess, "AT_ONCE_LIMIT", limit)
    name, kw, seq, dtype = _run(seed)
    flat, seg = ov._flat(seq)
    keys = ("no_bias_correction",) if name in ("adam", "adamw") and seed % 3 == 0 else ()
    atol, rtol = TOLS[dtype]
    for arg, lo, hi, n in (("_clip", -8, 3, 221), ("eps", -12, -1, 23)):
        values = [10**x for x in torch.linspace(lo, hi, n, dtype=torch.float64).tolist()]
        one = [ov._excess(Sim(name, {**kw, arg: v}, keys), flat, atol, rtol, seg) for v in values]
        many = ov._excess_at(Sim(name, kw, keys), arg, values, flat, atol, rtol, seg)
        assert many == one  # bit for bit: the same arithmetic per element
        assert arg != "_clip" or len(set(one)) > 1  # the bound changes the excess


# every fitted value of each optimizer, with the parts each is searched beside
BESIDE = {
    "adam": ((), ("no_bias_correction",), ("own_m", "own_v"), ("bc_pow",), ("bc_in_place",),
             ("g_numerator",), ("mv_swapped",), ("eps_inside",), ("eps_hat",), ("t_behind",),
             ("amsgrad_flip",), ("t_ahead_m",)),
    "rmsprop": ((), ("rms_own",), ("rms_bc",), ("rms_bc_behind",), ("eps_inside",)),
    "adagrad": ((), ("eps_inside",)),
}  # fmt: skip


@pytest.mark.parametrize("name", ["adam", "adamw", "rmsprop", "adagrad"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_every_fitted_value_at_once_is_the_grid_one_by_one(name, dtype):
    """A beta or an accumulator's start enters through scalars (1 - b, 1 - b^t): each copy's
    are computed as one value's, so the grid at once is the grid one by one, bit for bit."""
    rnd = random.Random(hash((name, str(dtype))) % 1000)
    torch.manual_seed(rnd.randint(0, 999))
    kw = {"lr": 0.01, "centered": name == "rmsprop"}
    P = {f"W{i}": torch.randn(rnd.randint(1, 20), dtype=dtype) for i in range(3)}
    truth, seq = Sim(name, {**kw, "beta2": 0.99, "alpha": 0.9}), []
    for _ in range(4):
        G = {n: torch.randn_like(p) * 10 ** rnd.uniform(-4, 1) for n, p in P.items()}
        seq.append((P, G, truth.step(P, G)))
        P = seq[-1][2]
    flat, seg = ov._flat(seq)
    atol, rtol = TOLS[dtype]
    args = {"adam": ("_bc1", "_bc2", "_avg1", "_avg2", "beta1", "beta2"), "rmsprop": ("alpha",),
            "adagrad": ("initial_accumulator_value",)}.get(name, ("_bc1", "beta2"))  # fmt: skip
    for keys in BESIDE.get(name, ((),)):
        for arg in args:
            key = next(k for k, (a, _, _) in ov.FITTED.items() if a == arg)
            lo, hi = ov.FITTED[key][1]
            xs = torch.linspace(lo, hi, 23, dtype=torch.float64).tolist()
            values = [ov.FITTED[key][2](x) for x in xs] + [0.99, 0.0]  # the truth, and 0
            one = [
                ov._excess(Sim(name, {**kw, arg: v}, keys), flat, atol, rtol, seg) for v in values
            ]
            many = ov._excess_at(Sim(name, kw, keys), arg, values, flat, atol, rtol, seg)
            assert many == one, (keys, arg)
            assert keys or len(set(one)) > 1, arg  # the value changes the excess


@pytest.mark.parametrize("seed", range(6))
def test_an_excess_cut_short_is_exact_below_stop_and_above_it_past(seed):
    name, kw, seq, dtype = _run(seed)
    atol, rtol = TOLS[dtype]
    for value in (1e-6, 1e-3, 1.0):
        whole = ov._excess(Sim(name, {**kw, "eps": value}), seq, atol, rtol)
        for stop in (0.5, 1.0, whole, 2 * whole + 1):
            cut = ov._excess(Sim(name, {**kw, "eps": value}), seq, atol, rtol, stop=stop)
            assert cut == whole if whole <= stop else stop < cut <= whole


def test_the_least_of_a_grid_with_cuts_is_the_first_least():
    rnd = random.Random(0)
    for _ in range(200):
        errs = [
            rnd.choice([0.5, 1.0, 2.0, math.inf, rnd.random()]) for _ in range(rnd.randint(1, 9))
        ]

        def excess(x, stop=math.inf, errs=errs):  # a cut value lies above stop, not at errs
            e = errs[int(x)]
            return (stop + e) if e > stop else e

        assert ov._first_least(excess, list(range(len(errs)))) == errs.index(min(errs))


def test_a_golden_search_with_cuts_ends_where_the_whole_evaluations_do():
    from nnparity.reference.learner.golden import golden

    rnd = random.Random(1)
    for _ in range(300):
        m, s, w = rnd.uniform(-1, 1), rnd.uniform(0.1, 10), rnd.choice([0.0, 0.3, 3.0])

        def exact(x, m=m, s=s, w=w):  # unimodal or with ripples
            return s * abs(x - m) + w * math.sin(17 * x) ** 2

        def cut(x, stop, exact=exact):  # past stop: any value above it, at most the whole
            e = exact(x)
            return stop + rnd.random() * (e - stop) + 1e-12 if e > stop else e

        assert golden(cut, -2, 2, 32, bounded=True)[0] == golden(exact, -2, 2, 32)[0]


def test_a_golden_search_many_points_at_a_time_is_the_golden_search():
    from nnparity.reference.learner.golden import golden, golden_at

    rnd = random.Random(2)
    for _ in range(300):
        m, s, w = rnd.uniform(-1, 1), rnd.uniform(0.1, 10), rnd.choice([0.0, 0.3, 3.0])

        def exact(x, m=m, s=s, w=w):
            return s * abs(x - m) + w * math.sin(17 * x) ** 2

        steps, depth = rnd.choice([1, 3, 4, 5, 32]), rnd.choice([1, 2, 4, 5])
        at = golden_at(lambda xs, f=exact: [f(x) for x in xs], -2, 2, steps, depth)
        assert at == golden(exact, -2, 2, steps)


@pytest.mark.parametrize("seed", range(8))
def test_a_fitted_value_is_the_same_with_the_golden_points_at_once(seed, monkeypatch):
    """``_fit_value`` on small parameters (``golden_at``) and one point at a time agree to the
    bit: the same points, and the same excess at each (``_excess_at``)."""
    name, kw, seq, dtype = _run(seed)
    flat, seg = ov._flat(seq)
    atol, rtol = TOLS[dtype]
    key = "clip_value" if seed % 2 else "eps_value"
    keys = (key,)
    at_once = ov._fit_value(name, kw, keys, key, flat, atol, rtol, seg)
    monkeypatch.setattr(ov, "AT_ONCE_SMALL", 0)
    assert ov._fit_value(name, kw, keys, key, flat, atol, rtol, seg) == at_once
    FOUND.append(at_once)


FOUND: list = []


def test_the_fits_compared_found_values():  # (after the 8 above, in one process)
    assert len(FOUND) < 8 or sum(v is not None for v in FOUND) >= 3, FOUND
