"""dtype_changed: a step that turns float32 weights into float64 (an update that rebinds, W = W
- lr * g, takes g's dtype): a note beside a match, naming where the float64 came from."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_gradients


def test_a_step_that_turns_float32_weights_into_float64_is_named_not_called_nondeterministic():
    """Review s6c: float32 weights, a float64 lr, and W = W - lr * g: float64 after step 1, which
    read as 'nondeterministic'. An in-place update keeps float32 and matches; the rebinding one
    matches too, with a dtype_changed note (review s8a: it was an implementation_bug)."""

    def run(in_place: bool):
        r = np.random.RandomState(0)
        P = {"W1": r.randn(3, 4).astype(np.float32), "b1": np.zeros(4, np.float32),
             "W2": r.randn(4, 1).astype(np.float32), "b2": np.zeros(1, np.float32)}  # fmt: skip
        X, Y = r.randn(8, 3), r.randn(8, 1)  # float64 data

        def grads(X, y):
            h = np.tanh(X @ P["W1"] + P["b1"])
            d = (h @ P["W2"] + P["b2"] - y) / len(X)
            dh = d @ P["W2"].T * (1 - h**2)
            return {"W1": X.T @ dh, "b1": dh.sum(0), "W2": h.T @ d, "b2": d.sum(0)}

        def step(X, y):
            for k, g in grads(X, y).items():
                if in_place:
                    P[k] -= np.float32(0.1) * g.astype(np.float32)
                else:
                    P[k] = P[k] - np.float64(0.1) * g  # a float64 lr upcasts (NEP 50)

        a = from_gradients(P, list(P), grads, step=step, sizes=[3, 4, 1],
                           activations="tanh,identity", loss="half_sse", lr=0.1)  # fmt: skip
        return check(a, X, Y, steps=3, probe=False)

    assert run(in_place=True).code == "match"
    r = run(in_place=False)
    codes = [f.code for f in r.findings]
    assert codes[0] == "dtype_changed" and "nondeterministic" not in codes, r.render()
    # its numbers agree (float64 is PyTorch's float32 and better): a note beside a match
    assert r.code == "match" and r.findings[0].kind == "note", r.render()


@pytest.mark.parametrize("data", ["float32", "float64"])
def test_dtype_changed_names_the_float64_lr_where_data_and_gradients_are_float32(data):
    """Review s36 7c: float32 weights, data and gradients, an np.float64 lr: the note blamed
    "float64 data or gradients"; where all it was handed is float32 it names the lr."""
    r = np.random.RandomState(0)
    P = {"W1": r.randn(3, 4).astype(np.float32), "b1": np.zeros(4, np.float32),
         "W2": r.randn(4, 1).astype(np.float32), "b2": np.zeros(1, np.float32)}  # fmt: skip
    X, Y = r.randn(8, 3).astype(data), r.randn(8, 1).astype(data)

    def grads(X, y):
        h = np.tanh(X @ P["W1"] + P["b1"])
        d = (h @ P["W2"] + P["b2"] - y) / len(X)
        dh = d @ P["W2"].T * (1 - h**2)
        return {"W1": X.T @ dh, "b1": dh.sum(0), "W2": h.T @ d, "b2": d.sum(0)}

    def step(X, y):
        for k, g in grads(X, y).items():
            P[k] = P[k] - np.array([0.1])[0] * g  # an lr read from a float64 array

    a = from_gradients(P, list(P), grads, step=step, sizes=[3, 4, 1],
                       activations="tanh,identity", loss="half_sse", lr=0.1)  # fmt: skip
    res = check(a, X, Y, steps=3, probe=False)
    f = next(f for f in res.findings if f.code == "dtype_changed")
    named = "np.float64 learning rate" in f.evidence and "lr = float(lr)" in f.hint
    assert named == (data == "float32"), res.render()
