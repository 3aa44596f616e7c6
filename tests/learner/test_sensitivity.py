"""Sensitivity held by a test: every catalogue class of LEARNER_BUGS.md (1-16) planted in a
learner program, in two adapter styles and two weight layouts, gets the right code verdict and
finding; ten pairs of bugs together are each named; the correct twin of each passes with
``code: match``."""

from __future__ import annotations

import catalogue as C
import pytest

from nnparity.reference.learner import check

STYLES = ("gradients", "loss")
LAYOUTS = ("in_out", "out_in")
# class: (bugs in the 3-4-4-2 net, expected finding codes)
CLASSES = {
    1: (("sign",), ["sign_flip"]),
    "1 (ascent in a step)": (("ascent",), ["sign_flip"]),
    2: (("sum",), ["scale_factor"]),
    3: (("transposed",), ["transposed"]),
    4: (("updated",), ["updated_weights_used", "updated_weights_used"]),
    5: (("deriv2",), ["wrong_activation_derivative"]),
    6: (("missing_out",), ["derivative_of_output"]),
    7: (("bias_mean",), ["bias_reduction"]),
    8: (("cache",), ["wrong_cached_activation"]),
    9: (("inplace",), ["inplace_mutation"]),
    10: (("l2_double",), ["regularization_mismatch"]),
    11: (("adam_eps",), ["optimizer_update_mismatch"]),
    16: (("accumulate",), ["gradient_accumulation"]),
}
# class: (small network kind, code verdict, finding codes, training outcome)
SMALL = {
    12: ("softmax", "implementation_bug", ["softmax_jacobian"]),
    13: ("bce", "numerical_instability", ["nonfinite"]),
    14: ("vector", "implementation_bug", ["broadcast_shape"]),
}
PAIRS = {
    ("transposed", "tanh_of_z"): {"transposed", "wrong_activation_derivative"},
    ("sum", "deriv2"): {"scale_factor", "wrong_activation_derivative"},
    ("half", "missing_out"): {"scale_factor", "derivative_of_output"},
    ("bias_mean", "deriv2"): {"bias_reduction", "wrong_activation_derivative"},
    ("cache", "tanh_of_z"): {"wrong_cached_activation", "wrong_activation_derivative"},
    ("transposed", "bias_mean"): {"transposed", "bias_reduction"},
    ("adam_eps", "adam_nobc"): {"optimizer_update_mismatch"},
    ("missing_out", "tanh_of_z"): {"derivative_of_output", "wrong_activation_derivative"},
    ("sign", "bias_mean"): {"sign_flip", "bias_reduction"},
    ("inplace", "tanh_of_z"): {"inplace_mutation", "wrong_activation_derivative"},
}
GRID = [(s, lay) for s in STYLES for lay in LAYOUTS]


def _check(bugs, style, layout):
    X, y = C.data()
    reg = 0.01 if "l2_double" in bugs else 0.0
    return check(C.adapter(bugs, style, layout, reg), X, y, steps=3, probe=False)


@pytest.mark.parametrize("style, layout", GRID)
@pytest.mark.parametrize("cls", list(CLASSES))
def test_catalogue_class_is_named(cls, style, layout):
    bugs, codes = CLASSES[cls]
    r = _check(bugs, style, layout)
    assert r.code == "implementation_bug" and r.codes() == codes, r.render()
    assert all(f.step == 1 for f in r.findings if f.code != "gradient_accumulation")


@pytest.mark.parametrize("style, layout", GRID)
@pytest.mark.parametrize("cls", list(SMALL))
def test_catalogue_class_on_its_own_network(cls, style, layout):
    kind, code, codes = SMALL[cls]
    adapter, X, y = C.small(kind, True, style, layout)
    r = check(adapter, X, y, steps=3, probe=False)
    assert r.code == code and r.codes() == codes, r.render()
    adapter, X, y = C.small(kind, False, style, layout)
    r = check(adapter, X, y, steps=3, probe=False)
    assert r.code == "match" and r.findings == (), r.render()


@pytest.mark.parametrize("style, layout", GRID)
def test_class_15_is_a_training_answer_not_a_code_verdict(style, layout):
    adapter, X, y = C.small("xor", False, style, layout)
    r = check(adapter, X, y, steps=3)
    assert r.code == "match", r.render()
    assert r.training.outcome == "model_limitation" and r.training_codes() == ["capacity"]


@pytest.mark.parametrize("style, layout", GRID)
@pytest.mark.parametrize("bugs", list(PAIRS), ids="+".join)
def test_two_bugs_together_are_both_named(bugs, style, layout):
    r = _check(bugs, style, layout)
    assert r.code == "implementation_bug"
    assert set(r.codes()) == PAIRS[bugs], r.render()
    if bugs == ("adam_eps", "adam_nobc"):
        f = r.findings[0]
        assert "no bias correction" in f.evidence and "eps inside" in f.evidence
        assert "(1) divide m by 1 - b1^t" in f.hint and "(2) add eps after" in f.hint


@pytest.mark.parametrize("style, layout", GRID)
@pytest.mark.parametrize("adam", [False, True], ids=["sgd", "adam"])
def test_the_correct_twin_matches(adam, style, layout):
    X, y = C.data()
    r = check(C.adapter((), style, layout, adam=adam), X, y, steps=3, probe=False)
    assert r.code == "match" and r.findings == (), r.render()
