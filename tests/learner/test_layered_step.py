"""``from_step(..., spec=<layered>)``: a step that updates in place (the CNN tutorials update
inside backward) is checked through the gradients its moves imply under plain SGD, g = (w - w')
/ lr (review s9a: it was refused as "unknown declaration(s) spec"). Both ways: a correct step
matches; a step with another lr or none at all does not; another optimizer is refused."""

from __future__ import annotations

import importlib.util

import pytest
from conftest import EXAMPLES

from nnparity.reference.learner import LearnerError, check, from_step


def _convnet():
    spec = importlib.util.spec_from_file_location("net_convnet_ok", EXAMPLES / "net_convnet_ok.py")
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    return m


M = _convnet()


def _adapter(lr_used: float = 0.05, opt: str = "sgd(lr=0.05)"):
    model = M.ThreeLayerConvNet()

    def step(X, y):  # forward, backward, update in place: the learner's own training step
        _, grads = model.loss(X, y)
        for k, p in model.params.items():
            p -= lr_used * grads[k]

    return from_step(model.params, list(model.params), step, forward=model.loss,
                     spec=f"{M.SPEC} opt={opt}", data=(M.X, M.Y))  # fmt: skip


def test_a_correct_step_matches():
    r = check(_adapter(), steps=3)
    assert r.code == "match", r.render()
    assert r.style == "step" and "update_not_compared" not in r.codes()


@pytest.mark.parametrize("lr_used", [0.1, 0.0])
def test_a_step_with_another_lr_or_none_does_not_match(lr_used):
    r = check(_adapter(lr_used), steps=3)
    assert r.code == "implementation_bug", r.render()


def test_another_optimizer_is_refused_with_the_declaration_to_use():
    with pytest.raises(LearnerError, match=r"plain SGD .* declare opt=sgd\(lr=...\)"):
        _adapter(opt="sgd(lr=0.05,momentum=0.9)")
