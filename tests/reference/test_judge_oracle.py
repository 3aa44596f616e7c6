"""The float64 oracle rescues a float32 record only by PyTorch's own error or the round-off
estimate itself (the envelope over its safety factor), never by a floor: a doubled gradient of
a saturated hidden unit passed as "oracle" (found by review: sigmoid at z = 14, tanh at 9)."""

from __future__ import annotations

import pytest

from nnparity.reference.engine import run_parity
from nnparity.scratch import Spec, build


class _B1Times:
    """Scratch's network with b1's gradient multiplied by ``factor``."""

    def __init__(self, spec: Spec, factor: float):
        self.net, self.factor = build(spec), factor
        self.opt = self.net.opt

    def init_params(self):
        return self.net.init_params()

    def init_state(self, params):
        return self.net.init_state(params)

    def loss_and_grads(self, params, X, y):
        loss, g, out = self.net.loss_and_grads(params, X, y)
        return loss, {**g, "b1": self.factor * g["b1"]}, out


CASES = [("sigmoid", 14.0), ("tanh", 9.0)]


def _spec(act: str, bias: float) -> Spec:
    return Spec.parse(
        f"4-8-1 {act},identity loss=mse opt=sgd(lr=0.1) bias_init=constant(value={bias}) "
        "dtype=float32"
    )


@pytest.mark.parametrize("mode", ["resync", "free"])
@pytest.mark.parametrize(("act", "bias"), CASES)
def test_a_saturated_layer_in_float32_is_no_false_alarm(act, bias, mode):
    assert run_parity(_spec(act, bias), 3, mode=mode).passed


@pytest.mark.parametrize("mode", ["resync", "free"])
@pytest.mark.parametrize("factor", [2.0, -1.0])
@pytest.mark.parametrize(("act", "bias"), CASES)
def test_a_wrong_gradient_of_a_saturated_unit_is_not_rescued_by_the_oracle(act, bias, factor, mode):
    spec = _spec(act, bias)
    result = run_parity(spec, 1, mode=mode, net=_B1Times(spec, factor), finite_differences=False)
    (b1,) = [r for r in result.records if r.stage == "grad" and r.tensor == "b1"]
    assert not b1.passed, (b1.judged_by, b1.tol_used, b1.oracle_scratch, b1.oracle_torch)


def test_a_half_again_gradient_at_sigmoid_14_fails_too():
    spec = _spec("sigmoid", 14.0)
    result = run_parity(spec, 1, net=_B1Times(spec, 1.5), finite_differences=False)
    assert not result.passed
