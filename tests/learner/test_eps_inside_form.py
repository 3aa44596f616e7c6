"""eps inside the square root, sqrt(s + eps): under RMSprop and Adagrad alone, optax's and
TensorFlow's own form (CONVENTIONS.md), a match with an ``eps_inside_form`` note (review s36
F3: ML-From-Scratch's RMSprop and Adagrad were bugs); under Adam a departure (LEARNER_BUGS.md
11), and beside another departure a bug under any of the three."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_step

EPS = 1e-6  # large enough to part from PyTorch's sqrt(s) + eps within a few steps


def _adapter(opt: str, inside: bool, lr_factor: float = 1.0, reset: int = 0, stale=False,
             declared: float | None = None, eps: float = EPS):  # fmt: skip
    r = np.random.RandomState(0)
    P = {"W1": r.randn(3, 6) * 0.5, "b1": np.zeros(6), "W2": r.randn(6, 2) * 0.5, "b2": np.zeros(2)}
    s = {k: np.zeros_like(v) for k, v in P.items()}
    m = {k: np.zeros_like(v) for k, v in P.items()}
    t = [0]

    cache = [None]

    def forward(X):  # ``stale``: the output the last step cached, whatever X is
        return cache[0] if stale else np.tanh(X @ P["W1"] + P["b1"]) @ P["W2"] + P["b2"]

    def step(X, y):
        h = np.tanh(X @ P["W1"] + P["b1"])
        cache[0] = h @ P["W2"] + P["b2"]
        d = 2 * (h @ P["W2"] + P["b2"] - y) / y.size
        dh = d @ P["W2"].T * (1 - h**2)
        g = {"W1": X.T @ dh, "b1": dh.sum(0), "W2": h.T @ d, "b2": d.sum(0)}
        t[0] += 1
        for k in P:
            if reset and t[0] % reset == 1 and t[0] > 1:  # the cache made anew: a bug
                s[k] = np.zeros_like(s[k])
            if opt == "adagrad":
                s[k] += g[k] ** 2
                num, v = g[k], s[k]
            elif opt == "rmsprop":
                s[k] = 0.9 * s[k] + 0.1 * g[k] ** 2
                num, v = g[k], s[k]
            else:
                m[k] = 0.9 * m[k] + 0.1 * g[k]
                s[k] = 0.999 * s[k] + 0.001 * g[k] ** 2
                num, v = m[k] / (1 - 0.9 ** t[0]), s[k] / (1 - 0.999 ** t[0])
            den = np.sqrt(v + eps) if inside else np.sqrt(v) + eps
            P[k] -= 0.01 * lr_factor * num / den

    e = eps if declared is None else declared
    optimizer = {"rmsprop": f"rmsprop(alpha=0.9, eps={e})", "adagrad": f"adagrad(eps={e})",
                 "adam": f"adam(eps={e})"}[opt]  # fmt: skip
    return from_step(P, list(P), step, optimizer=optimizer, lr=0.01, sizes=[3, 6, 2],
                     activations="tanh,identity", loss="mse",
                     forward=forward if stale else None)  # fmt: skip


def _data():
    r = np.random.RandomState(1)
    return r.randn(16, 3) * 0.1, r.randn(16, 2) * 0.01  # small gradients: sqrt(s) near eps


@pytest.mark.parametrize("opt", ["rmsprop", "adagrad"])
def test_eps_inside_the_root_of_rmsprop_or_adagrad_is_a_note(opt):
    res = check(_adapter(opt, inside=True), *_data(), steps=4, probe=False)
    assert res.code == "match" and res.codes() == ["eps_inside_form"], res.render()
    f = res.findings[0]
    assert f.kind == "note" and "sqrt(" in f.evidence and "optax" in f.evidence, res.render()
    assert f.hint.startswith("nothing to fix"), res.render()


@pytest.mark.parametrize("opt", ["rmsprop", "adagrad", "adam"])
def test_eps_after_the_root_matches_without_a_note(opt):
    res = check(_adapter(opt, inside=False), *_data(), steps=4, probe=False)
    assert res.code == "match" and not res.findings, res.render()


def test_eps_inside_adams_root_is_a_departure():
    res = check(_adapter("adam", inside=True), *_data(), steps=4, probe=False)
    assert res.code == "implementation_bug", res.render()
    assert res.codes() == ["optimizer_update_mismatch"] and "eps inside" in res.render()


@pytest.mark.parametrize("opt", ["rmsprop", "adagrad"])
def test_eps_inside_beside_another_lr_is_a_bug(opt):
    res = check(_adapter(opt, inside=True, lr_factor=1.5), *_data(), steps=4, probe=False)
    assert res.code == "implementation_bug", res.render()
    assert "eps_inside_form" not in res.codes(), res.render()


def test_a_form_said_as_a_note_holds_at_every_step_or_it_is_a_bug():
    """Review s38 F2: eps inside RMSprop's root with its cache reset every 4 steps was a match
    with the note, the variant search reading the first steps alone."""
    res = check(_adapter("rmsprop", inside=True, reset=4), *_data(), steps=8, probe=False)
    assert res.code == "implementation_bug", res.render()
    f = res.findings[0]
    assert "eps inside" in f.evidence and "up to step 4, and parting from it after" in f.evidence


def test_a_note_leaves_the_probes_on():
    """Review s38 F4: eps inside RMSprop's root (a note) beside a predict returning the last
    step's cached output was a match: a run with notes alone skipped every probe."""
    res = check(_adapter("rmsprop", inside=True, stale=True), *_data(), steps=4, probe=False)
    assert res.code == "implementation_bug", res.render()
    assert res.codes()[0] == "stale_input" and "eps_inside_form" in res.codes(), res.render()


@pytest.mark.parametrize("opt", ["rmsprop", "adagrad"])
def test_eps_inside_the_root_at_another_eps_than_declared_is_named_with_its_eps(opt):
    """Review s49 F2: ML-From-Scratch's Adagrad, sqrt(G + 1e-8), with the default eps declared:
    read as eps = 1.29e-7 outside the root, which declared still parted. Named as eps inside
    the root at its own eps, whose declaration then matches (with the note)."""
    r = check(_adapter(opt, True, declared=1e-10, eps=1e-8), *_data(), steps=6, probe=False)
    assert r.code == "implementation_bug", r.render()
    ev, hint = r.findings[0].evidence, r.findings[0].hint
    assert "inside" in ev and ("1e-08" in ev or "1e-08" in hint), r.render()
    r = check(_adapter(opt, True, declared=1e-8, eps=1e-8), *_data(), steps=6, probe=False)
    assert r.code == "match", r.render()


@pytest.mark.parametrize(("eps", "code"), [(None, "implementation_bug"), (1e-8, "match")])
def test_ml_from_scratchs_adagrad_is_eps_inside_the_root_at_its_own_eps(eps, code):
    """Review s49 F2, on the reviewer's ML-From-Scratch program (mlfs_nets.py): Adagrad's
    sqrt(G + 1e-8) with the default eps declared was read as eps = 1.29e-7 outside the root;
    named with its own eps inside, and declared so it matches."""
    import importlib.util
    from pathlib import Path

    from nnparity.reference.learner import from_step

    path = Path(__file__).with_name("mlfs_nets.py")
    spec = importlib.util.spec_from_file_location("mlfs_nets_eps", path)
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    opt = "adagrad" if eps is None else f"adagrad(eps={eps})"
    a = from_step(m.clf, ["layers[0].W", "layers[0].w0", "layers[2].W", "layers[2].w0"],
                  m.clf.train_on_batch, forward=m.clf.predict, sizes=[2, 8, 3],
                  activations="tanh,softmax", loss="cross_entropy", reduction="sum",
                  optimizer=opt, lr=m.LR)  # fmt: skip
    r = check(a, m.X, m.Y, steps=6, probe=False)
    assert r.code == code, r.render()
    if eps is None:
        assert "eps = 1e-08 inside the square root" in r.findings[0].evidence, r.render()
