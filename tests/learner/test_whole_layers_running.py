"""Batchnorm's running averages, eps and the declared L2 in whole learner networks (reviews
s51, s52): another running weight named with the spec declaration that takes it, one statistic
off named alone, another eps with its declaration, the declared L2 left out of one layer."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import EXAMPLES
from test_whole_layers import _fc, _load, _run, _seeded_numpy  # noqa: F401 - autouse


def _momentum_099(m, spec_momentum: str):
    model = m.FullyConnectedNet([8, 8], 5, 3, dropout_keep_ratio=0.75, normalization="batchnorm")
    for p in model.bn_params:
        p["momentum"] = 0.99  # CS231n's m: the old value's weight
    m.SPEC = m.SPEC.replace("batchnorm", f"batchnorm{spec_momentum}")
    return _run(_fc(m, model))


@pytest.mark.parametrize("said", ["", "(momentum=0.99)"])
def test_another_running_weight_is_named_with_the_spec_declaration_that_takes_it(said):
    """Review s52 F2: CS231n's momentum 0.99 was 'fits no running average' (undeclared) or
    'read the other way: weight the old value by 0.01' (batchnorm(momentum=0.99) declared,
    under convention='cs231n'), never the declaration that takes it."""
    r = _momentum_099(_load("net_fc_bn_dropout_ok"), said)
    f = r.findings[0]
    assert (r.code, f.code) == ("implementation_bug", "batchnorm_running"), r.render()
    assert "the old value weighted 0.99 where" in f.evidence, r.render()
    assert "declare batchnorm(momentum=0.01)" in f.hint, r.render()


def test_the_spec_declaration_offered_matches():
    r = _momentum_099(_load("net_fc_bn_dropout_ok"), "(momentum=0.01)")
    assert r.code == "match", r.render()
    assert "running statistics 0.99 r + 0.01 batch" in r.spec, r.render()


def test_one_running_statistic_off_is_named_alone():
    """Review s51 F9: running_mean's weights swapped, running_var right: both were 'fit no
    running average'."""
    m = _load("net_fc_bn_dropout_ok")
    src = (EXAMPLES / "net_fc_bn_dropout_ok.py").read_text()
    body = src[src.index("def batchnorm_forward") : src.index("def batchnorm_backward")]
    line = "running_mean = momentum * running_mean + (1 - momentum) * mu"
    assert line in body
    ns: dict = {"np": np}
    exec(body.replace(line, "running_mean = (1 - momentum) * running_mean + momentum * mu"), ns)
    m.batchnorm_forward = ns["batchnorm_forward"]
    r = _run(_fc(m))
    f = r.findings[0]
    assert (r.code, f.code, len(f.params)) == ("implementation_bug", "batchnorm_running", 1)
    assert "running_mean" in f.params[0] and "old value weighted 0.1" in f.evidence, r.render()


def test_another_batchnorm_eps_is_named_with_its_declaration():
    """Review s52 F3f: Keras's eps = 1e-3 undeclared was a layer_mismatch on the loss."""
    m = _load("net_fc_bn_dropout_ok")
    model = m.FullyConnectedNet([8, 8], 5, 3, dropout_keep_ratio=0.75, normalization="batchnorm")
    for p in model.bn_params:
        p["eps"] = 1e-3
    r = _run(_fc(m, model))
    f = r.findings[0]
    assert (r.code, f.code) == ("implementation_bug", "batchnorm_eps"), r.render()
    assert "declare batchnorm(eps=0.001)" in f.hint, r.render()
    m.SPEC = m.SPEC.replace("batchnorm", "batchnorm(eps=0.001)")
    assert _run(_fc(m, model)).code == "match"


@pytest.mark.parametrize("left_out", ["", "W1"])
def test_the_declared_l2_left_out_of_one_layers_gradient_is_named(left_out):
    """Review s52 F3g: reg in the loss and every weight's gradient but one: layer_mismatch."""
    m = _load("net_fc_bn_dropout_ok")
    model = m.FullyConnectedNet([8, 8], 5, 3, dropout_keep_ratio=0.75, normalization="batchnorm")
    plain, reg = model.loss, 0.05

    def loss(X, y=None):
        if y is None:
            return plain(X)
        value, grads = plain(X, y)
        ws = [k for k in model.params if k.startswith("W")]
        value += 0.5 * reg * sum(np.sum(model.params[k] ** 2) for k in ws)
        for k in ws:
            grads[k] = grads[k] + (0 if k == left_out else reg * model.params[k])
        return value, grads

    model.loss = loss
    r = _run(_fc(m, model, l2=reg))
    if not left_out:
        assert r.code == "match", r.render()
        return
    f = r.findings[0]
    assert (r.code, f.code, f.params) == ("implementation_bug", "regularization_mismatch", ("W1",))
    assert "l2=0.05) is missing" in f.evidence, r.render()


def test_a_per_layer_l2_list_on_a_layered_spec_is_refused_with_why():
    """Review s56 F5: float() on the list failed inside nnparity, blamed on the learner."""
    from nnparity.reference.learner import LearnerError

    m = _load("net_fc_bn_dropout_ok")
    with pytest.raises(LearnerError, match=r"l2=\[0.01, 0\]: a layered spec takes one number"):
        _fc(m, l2=[0.01, 0])
