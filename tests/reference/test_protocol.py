"""``run_parity(net=...)``: a user's network that follows the protocol is held to PyTorch
(its optimizer state may be a plain dict); one that does not gets one message naming the
missing or misshapen piece, and calls it "your network"."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity import Spec, build, run_parity
from nnparity.reference.protocol import ProtocolError

SPEC = Spec.parse("3-4-2 tanh,identity loss=mse opt=sgd(lr=0.1,momentum=0.9)")


class DictStateNet:
    """scratch's network, but keeping SGD's momentum in a plain dict."""

    def __init__(self, spec: Spec):
        self.net = build(spec)
        self.opt = self
        self.lr, self.mu = 0.1, 0.9

    def init_params(self):
        return self.net.init_params()

    def init_state(self, params):
        return {"step": 0, "momentum_buffer": {}}

    def loss_and_grads(self, params, X, y):
        return self.net.loss_and_grads(params, X, y)

    def update(self, grads, state, params):
        assert isinstance(state, dict)
        buf = {}
        for n, g in grads.items():
            b = state["momentum_buffer"].get(n)
            buf[n] = g.copy() if b is None else self.mu * b + g
        new = {n: params[n] - self.lr * buf[n] for n in params}
        return new, {"step": state["step"] + 1, "momentum_buffer": buf}


def test_a_network_with_a_plain_dict_state_is_held_to_pytorch():
    assert run_parity(SPEC, steps=3, net=DictStateNet(SPEC)).passed


def test_a_planted_bug_in_a_dict_state_network_fails():
    class Wrong(DictStateNet):
        def update(self, grads, state, params):
            new, st = super().update(grads, state, params)
            return {n: v + 1e-3 for n, v in new.items()}, st

    result = run_parity(SPEC, steps=2, net=Wrong(SPEC))
    assert not result.passed and result.first_failure.stage == "update"
    assert "your network" in result.message() and "scratch" not in result.message()


class Broken(DictStateNet):
    pass


def _broken(**overrides):
    net = Broken(SPEC)
    for name, fn in overrides.items():
        setattr(net, name, fn)
    return net


@pytest.mark.parametrize(
    "net, message",
    [
        (object(), "your network has no 'init_params'"),
        (_broken(loss_and_grads=lambda p, X, y: (1.0, {})), "must return a tuple (loss, grads"),
        (_broken(loss_and_grads=lambda p, X, y: ("1.0", {}, X)), "loss of type str"),
        (
            _broken(loss_and_grads=lambda p, X, y: (1.0, {"W1": p["W1"]}, X[:, :2])),
            "has no b1, W2, b2",
        ),
        (
            _broken(
                loss_and_grads=lambda p, X, y: (
                    1.0,
                    {n: v.T for n, v in p.items()},
                    np.zeros((len(X), 2)),
                )
            ),
            "W1 has shape (4, 3); the parameter has shape (3, 4)",
        ),
        (
            _broken(loss_and_grads=lambda p, X, y: (1.0, {n: v for n, v in p.items()}, X[:, :1])),
            "output of shape (8, 1)",
        ),
        (_broken(init_state=lambda p: [0]), "state of type list"),
        (_broken(init_state=lambda p: {"momentum_buffer": {}}), "without 'step'"),
        (_broken(update=lambda g, s, p: p), "must return a tuple (new_params, new_state)"),
    ],
    ids=[
        "no-methods",
        "two-results",
        "string-loss",
        "missing-grads",
        "transposed-grads",
        "output-shape",
        "state-list",
        "state-no-step",
        "update-one-result",
    ],
)
def test_a_protocol_violation_is_one_message_naming_the_piece(net, message):
    with pytest.raises(ProtocolError) as e:
        run_parity(SPEC, steps=2, net=net)
    assert message in str(e.value)


@pytest.mark.parametrize("mode", ["free", "resync"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_a_network_that_writes_into_its_data_fails_and_leaves_the_callers_data(mode, dtype):
    """Found by review: X *= 2 and flipped targets inside loss_and_grads passed, because the
    twin shares X's memory (torch.from_numpy) and so trained on the same corrupted data."""
    spec = Spec.parse(f"3-4-1 tanh,sigmoid loss=bce opt=sgd(lr=0.1) dtype={dtype}")

    class Writes(DictStateNet):
        def loss_and_grads(self, params, X, y):
            X *= 2.0
            y[:] = 1.0 - y
            return super().loss_and_grads(params, X, y)

    from nnparity.scratch import make_data

    X, y = make_data(spec)
    kept = (X.copy(), y.copy())
    result = run_parity(spec, steps=2, mode=mode, net=Writes(spec), data=(X, y))
    assert not result.passed and result.first_failure.step == 1
    np.testing.assert_array_equal(X, kept[0])
    np.testing.assert_array_equal(y, kept[1])


def test_a_network_that_updates_its_weights_in_place_is_judged_on_what_it_returns():
    class InPlace(DictStateNet):
        def update(self, grads, state, params):
            for n in params:
                params[n] -= 0.1 * grads[n]  # writes into the arrays it was given
            return params, {"step": state["step"] + 1, "momentum_buffer": {}}

    spec = Spec.parse("3-4-2 tanh,identity loss=mse opt=sgd(lr=0.1)")
    assert run_parity(spec, steps=3, mode="resync", net=InPlace(spec)).passed
