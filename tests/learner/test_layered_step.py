"""``from_step(..., spec=<layered>)``: a step that updates in place (the CNN tutorials update
inside backward) is checked through the gradients its moves imply under plain SGD, g = (w - w')
/ lr (review s9a: it was refused as "unknown declaration(s) spec"). Both ways: a correct step
matches; a step with another lr or none at all does not; another optimizer is refused."""

from __future__ import annotations

import pytest
from conftest import load_example

from nnparity.reference.learner import LearnerError, check, from_step


def _convnet():
    m = load_example("net_convnet_ok")
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


@pytest.mark.parametrize("first", [False, True])
def test_an_update_inside_backward_before_the_dx_is_updated_weights_used(first):
    """Review s9a: a dense layer that updates W and then hands down dx with the updated W was
    blamed on the correct conv below it ("conv's backward ...")."""
    model = M.ThreeLayerConvNet()
    P = model.params

    def step(X, y):  # forward, then backward with each layer's update inside it
        cp, pp = {"stride": 1, "pad": 1}, {"pool_height": 2, "pool_width": 2, "stride": 2}
        a, c1 = M.conv_forward_naive(X, P["W1"], P["b1"], cp)
        r, c2 = M.relu_forward(a)
        pooled, c3 = M.max_pool_forward_naive(r, pp)
        h, c4 = M.affine_forward(pooled, P["W2"], P["b2"])
        hr, c5 = M.relu_forward(h)
        s, c6 = M.affine_forward(hr, P["W3"], P["b3"])
        _, d = M.softmax_loss(s, y)
        dx, dW3, db3 = M.affine_backward(d, c6)
        P["W3"] -= 0.05 * dW3  # in place: the cache holds this array
        P["b3"] -= 0.05 * db3
        if first:  # the bug: dx taken again, after the update, from the updated W3
            dx = M.affine_backward(d, c6)[0]
        d = M.relu_backward(dx, c5)
        d, dW2, db2 = M.affine_backward(d, c4)
        P["W2"] -= 0.05 * dW2
        P["b2"] -= 0.05 * db2
        d = M.relu_backward(M.max_pool_backward_naive(d, c3), c2)
        _, dW1, db1 = M.conv_backward_naive(d, c1)
        P["W1"] -= 0.05 * dW1
        P["b1"] -= 0.05 * db1

    a = from_step(P, list(P), step, forward=model.loss, spec=f"{M.SPEC} opt=sgd(lr=0.05)",
                  data=(M.X, M.Y))  # fmt: skip
    r = check(a, steps=2)
    if not first:
        assert r.code == "match", r.render()
        return
    f = r.findings[0]
    assert (f.code, f.params, f.layer) == ("updated_weights_used", ("W3",), 3), r.render()
