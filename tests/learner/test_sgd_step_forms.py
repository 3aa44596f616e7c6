"""Steps that hide their gradients (from_step) under declared SGD momentum, read as a whole:
PyTorch's own momentum under a decaying lr (SGD with LambdaLR, the lr outside the buffer) is
declared with ``lr_outside=true`` and then matches, and undeclared is named with that
declaration; a momentum buffer shared by parameters of one shape is named; a weight decay in
the update other than the declared ``weight_decay`` is said as a decay (missing, of the wrong
sign, without the lr), never as an L2 term to declare (review s25e F1-F3)."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_step

R = np.random.RandomState(0)
X = R.randn(16, 3)
Y = R.randn(16, 4)
NAMES = ["W1", "b1", "W2", "b2"]


def _net(update):
    r = np.random.RandomState(1)
    P = {"W1": r.randn(3, 4) * 0.5, "b1": np.full(4, 0.1), "W2": r.randn(4, 4) * 0.5,
         "b2": np.zeros(4)}  # fmt: skip
    state = {"t": 0}

    def grads(X, y):
        h = np.tanh(X @ P["W1"] + P["b1"])
        d = 2 * (h @ P["W2"] + P["b2"] - y) / y.size
        dh = d @ P["W2"].T * (1 - h**2)
        return {"W1": X.T @ dh, "b1": dh.sum(0), "W2": h.T @ d, "b2": d.sum(0)}

    def step(X, y):
        state["t"] += 1
        for k, g in grads(X, y).items():
            update(k, P[k], g, state)

    return P, step


def _check(update, opt):
    P, step = _net(update)
    a = from_step(P, NAMES, step, sizes=[3, 4, 4], activations="tanh,identity", loss="mse",
                  optimizer=opt, lr=0.1)  # fmt: skip
    return check(a, X, Y, steps=8, probe=False)


def torch_form(k, w, g, state):  # b = mu b + g; w -= lr_t b (SGD with LambdaLR)
    b = state[k] = 0.9 * state.get(k, 0) + g
    w -= 0.1 / (1 + 0.2 * (state["t"] - 1)) * b


def keras_form(k, w, g, state):  # v = mu v - lr_t g; w += v
    v = state[k] = 0.9 * state.get(k, 0) - 0.1 / (1 + 0.2 * (state["t"] - 1)) * g
    w += v


@pytest.mark.parametrize(
    ("update", "flag"), [(torch_form, "true"), (keras_form, "false")]
)  # fmt: skip
def test_each_momentum_form_under_a_decaying_lr_matches_once_declared(update, flag):
    res = _check(update, f"sgd(momentum=0.9,lr_decay=0.2,lr_outside={flag})")
    assert res.code == "match", res.render()


@pytest.mark.parametrize(
    ("update", "declared", "told"),
    [(torch_form, "false", "lr_outside=true"), (keras_form, "true", "false (the default)")],
)  # fmt: skip
def test_the_other_momentum_form_is_named_with_its_declaration(update, declared, told):
    res = _check(update, f"sgd(momentum=0.9,lr_decay=0.2,lr_outside={declared})")
    (f,) = [f for f in res.findings if f.kind != "note"]
    assert f.code == "optimizer_update_mismatch" and told in f.hint, res.render()


def test_undeclared_pytorch_decay_under_momentum_is_told_its_declaration():
    res = _check(torch_form, "sgd(momentum=0.9)")
    (f,) = [f for f in res.findings if f.kind != "note"]
    assert f.code == "lr_schedule" and "lr_outside=true" in f.hint, res.render()


def test_a_momentum_buffer_shared_by_shape_is_named():
    def by_shape(k, w, g, state):
        v = state[g.shape] = 0.9 * state.get(g.shape, 0) - 0.1 * g
        w += v

    res = _check(by_shape, "sgd(momentum=0.9)")
    (f,) = [f for f in res.findings if f.kind != "note"]
    assert "shared by the parameters of the same shape" in f.evidence, res.render()


@pytest.mark.parametrize(
    ("update", "said"),
    [
        (lambda k, w, g, s: w.__isub__(0.1 * g), "applies no weight decay"),
        (lambda k, w, g, s: w.__isub__(0.1 * (g - 0.05 * w)), "wrong sign"),
        (lambda k, w, g, s: w.__isub__(0.1 * g + 0.05 * w), "leaves out the learning rate"),
    ],
)
def test_a_decay_in_the_update_is_said_as_a_decay(update, said):
    res = _check(update, "sgd(weight_decay=0.05)")
    (f,) = [f for f in res.findings if f.kind != "note"]
    assert f.code == "regularization_mismatch" and said in f.evidence, res.render()
    assert "declare l2=" not in f.hint and "l2_bias" not in f.hint, f.hint
    assert set(f.params) == set(NAMES)  # weight_decay decays every parameter alike
