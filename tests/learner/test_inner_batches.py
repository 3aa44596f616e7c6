"""A step that runs an epoch's loop of mini-batches on the rows it is handed (review s18a:
four in-order batches of 16 on 64 rows, no batch size declared: unexplained, c = 3.5).
Named ``own_batches`` with the batch size that takes the steps, under plain SGD (whose
gradients the check implies from the weights) and under Adam (whose update hides them);
a step of one update matches. A step that is a whole training loop (its epochs inside) is
``own_loop`` with the passes that take the steps; one that makes its own weights at each call
(an init inside ``fit``) is ``weights_remade``."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_step


def _adapter(inner: int | None, opt: str, epochs: int = 1, fresh: bool = False,
             remake: bool = False, slip: bool = False):  # fmt: skip
    r = np.random.default_rng(4)
    P = {"W1": r.normal(0, 0.6, (3, 8)), "b1": np.zeros(8), "W2": r.normal(0, 0.6, (8, 2)),
         "b2": np.zeros(2)}  # fmt: skip
    S = {k: [np.zeros_like(v), np.zeros_like(v)] for k, v in P.items()}
    t = [0]

    def update(x, y):
        h = np.tanh(x @ P["W1"] + P["b1"])
        d = 2 * (h @ P["W2"] + P["b2"] - y) / y.size
        dh = d @ P["W2"].T * (1 if slip else 1 - h**2)  # slip: tanh' left out
        g = {"W1": x.T @ dh, "b1": dh.sum(0), "W2": h.T @ d, "b2": d.sum(0)}
        t[0] += 1
        for k, p in P.items():
            if opt == "sgd":
                p -= 0.05 * g[k]
                continue
            m, v = S[k]
            m[...] = 0.9 * m + 0.1 * g[k]
            v[...] = 0.999 * v + 0.001 * g[k] ** 2
            p -= 0.01 * (m / (1 - 0.9 ** t[0])) / (np.sqrt(v / (1 - 0.999 ** t[0])) + 1e-8)

    def step(X, y):
        b = inner or len(X)
        if remake:  # an init inside the step: the network built anew at each call
            r = np.random.default_rng(7)
            for k, p in P.items():
                p[...] = r.normal(0, 0.6, p.shape) if k[0] == "W" else 0.0
        if fresh:  # an optimizer built inside the loop's function
            t[0] = 0
            for m, v in S.values():
                m[...], v[...] = 0.0, 0.0
        for _ in range(epochs):
            for s in range(0, len(X), b):  # the epoch's loop, inside the step
                update(X[s : s + b], y[s : s + b])

    return from_step(P, list(P), step, sizes=[3, 8, 2], activations="tanh,identity", loss="mse",
                     optimizer=opt, lr=0.05 if opt == "sgd" else 0.01)  # fmt: skip


def _data():
    r = np.random.default_rng(5)
    X = r.normal(size=(64, 3))
    return X, np.stack([X[:, 0] - X[:, 1], np.sin(X[:, 2])], axis=1)


@pytest.mark.parametrize("opt", ["sgd", "adam"])
@pytest.mark.parametrize(("inner", "last"), [(16, 16), (10, 4)])
def test_a_step_that_loops_over_batches_is_named_with_their_size(inner, last, opt):
    r = check(_adapter(inner, opt), *_data(), steps=3, probe=False)
    assert r.codes() == ["own_batches"], r.render()
    f = r.findings[0]
    k = -(-64 // inner)
    assert (
        f"takes {k} {opt} updates" in f.evidence
        and f"batches of {inner} (the last {last})" in f.evidence
    )
    assert f"declare batch_size={inner}" in f.hint


@pytest.mark.parametrize("opt", ["sgd", "adam"])
def test_a_step_of_one_update_matches(opt):
    assert check(_adapter(None, opt), *_data(), steps=3, probe=False).code == "match"


@pytest.mark.parametrize("fresh", [False, True])
@pytest.mark.parametrize("opt", ["sgd", "adam"])
@pytest.mark.parametrize(("inner", "epochs", "how"), [
    (None, 40, "as one batch"), (16, 3, "in consecutive batches of 16 (the last 16)")
])  # fmt: skip
def test_a_step_that_is_a_whole_training_loop_is_named_with_its_passes(
    inner, epochs, how, opt, fresh
):
    """Review s28: a `train(X, y)` with its epochs handed as the step was unexplained."""
    r = check(_adapter(inner, opt, epochs, fresh), *_data(), steps=3, probe=False)
    assert r.codes() == ["own_loop"], r.render()
    f = r.findings[0]
    k = epochs * (-(-64 // inner) if inner else 1)
    assert f"{epochs} passes over its 64 rows {how}, {k} {opt} updates" in f.evidence, f.evidence
    assert ("state made anew" in f.evidence) == (fresh and opt == "adam"), f.evidence
    assert "the body of your loop" in f.hint


@pytest.mark.parametrize("opt", ["sgd", "adam"])
def test_a_step_that_makes_its_own_weights_is_named(opt):
    """A `fit` that builds its network and its optimizer anew at each call."""
    r = check(_adapter(None, opt, 5, fresh=True, remake=True), *_data(), steps=3, probe=False)
    assert r.codes() == ["weights_remade"], r.render()
    assert "does not start from the weights it is handed" in r.findings[0].evidence


def test_a_loop_of_wrong_updates_is_not_read_as_a_loop():
    """A loop whose updates are themselves wrong (tanh' left out) takes no pass count."""
    r = check(_adapter(None, "sgd", 40, slip=True), *_data(), steps=3, probe=False)
    assert r.code == "implementation_bug" and "own_loop" not in r.codes(), r.render()


def test_the_loop_readings_hold_weights_to_the_moves_tolerance():
    """``_near``: within atol of the largest move plus rtol of the weight, and no further;
    ``_remade``: the same weights after from other weights before, not from the same."""
    from types import SimpleNamespace as NS

    from nnparity.reference.learner.inner_batches import _near, _remade

    P0, P = {"W": np.zeros(3)}, {"W": np.array([1.0, 2.0, 4.0])}
    atol, rtol = 1e-6, 1e-9
    edge = 0.9 * (atol * 4.0 + rtol * 4.0)  # the move is 4
    assert _near(P, P0, {"W": P["W"] + edge}, atol, rtol)
    assert not _near(P, P0, {"W": P["W"] + 2 * edge}, atol, rtol)
    rows = np.arange(4)
    a = NS(rows=rows, params={"W": np.zeros(2)}, after={"W": np.ones(2)})
    b = NS(rows=rows[::-1], params={"W": np.full(2, 0.5)}, after={"W": np.ones(2)})
    assert _remade([a, b], atol, rtol)
    assert not _remade([a, NS(rows=rows, params=a.params, after=a.after)], atol, rtol)
    assert not _remade([a, NS(rows=rows[:3], params=b.params, after=b.after)], atol, rtol)


@pytest.mark.parametrize("sample_lr", [True, False])
def test_an_update_inside_the_loop_over_the_rows_is_named(sample_lr):
    """Review s45 F7: Nielsen's update_mini_batch with the update moved into the loop over the
    batch's samples (each at eta / len(mini_batch)) read as three unexplained gradients. Named
    own_batches, the update inside the loop; at the full eta per sample, the plain reading."""
    r = np.random.default_rng(4)
    P = {"W1": r.normal(0, 0.6, (3, 8)), "b1": np.zeros(8), "W2": r.normal(0, 0.6, (8, 2)),
         "b2": np.zeros(2)}  # fmt: skip

    def step(X, y):
        for x, t in zip(X, y, strict=True):  # one sample at a time
            x, t = x[None], t[None]
            h = np.tanh(x @ P["W1"] + P["b1"])
            d = h @ P["W2"] + P["b2"] - t  # half_sse, summed: this sample's gradient
            dh = d @ P["W2"].T * (1 - h**2)
            g = {"W1": x.T @ dh, "b1": dh.sum(0), "W2": h.T @ d, "b2": d.sum(0)}
            for k, p in P.items():
                p -= (0.5 / len(X) if sample_lr else 0.5) * g[k]

    a = from_step(P, list(P), step, sizes=[3, 8, 2], activations="tanh,identity",
                  loss="half_sse", optimizer="sgd", lr=0.5)  # fmt: skip
    X, Y = _data()
    res = check(a, X[:8], Y[:8], steps=2, probe=False)
    f = res.findings[0]
    assert f.code == "own_batches", res.render()
    inside = "inside the loop over the batch's rows" in f.evidence
    assert inside == sample_lr and "of 1" in f.evidence, res.render()
