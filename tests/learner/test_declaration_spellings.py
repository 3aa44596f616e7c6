"""Declarations written in another library's words (review s23a F5, F6): PyTorch's
``betas=(b1, b2)`` is read as beta1 and beta2, in the optimizer text or as a keyword; Keras's
``epsilon``/``rho`` and the like are refused with the name to write; an lr given twice with two
values is refused, where one of them won silently and the fix then contradicted the other."""

from __future__ import annotations

import pytest

from nnparity.reference.learner.declarations import _conv
from nnparity.reference.learner.paths import LearnerError

BASE = dict(sizes=[2, 3, 1], activations="tanh,sigmoid", loss="bce")


@pytest.mark.parametrize(
    "kw", [dict(optimizer="adam(betas=(0.8, 0.99))"), dict(optimizer="adam", betas=(0.8, 0.99))]
)
def test_pytorchs_betas_are_read_as_beta1_and_beta2(kw):
    opt = _conv({**BASE, **kw}).spec("float64").opt
    assert (opt.kwargs["beta1"], opt.kwargs["beta2"]) == (0.8, 0.99)


@pytest.mark.parametrize(
    ("key", "said"), [("epsilon", "write eps="), ("rho", "write alpha="), ("decay", "lr_decay=")]
)
def test_other_libraries_names_are_refused_with_ours(key, said):
    with pytest.raises(LearnerError, match=said) as e:
        _conv({**BASE, "optimizer": "rmsprop", key: 0.9})
    assert "the optimizer's own options" in str(e.value) and "eps" in str(e.value)


def test_an_lr_given_twice_with_two_values_is_refused():
    with pytest.raises(LearnerError, match="lr is given twice: 0.02 in optimizer=.* and lr=0.01"):
        _conv({**BASE, "optimizer": "adam(lr=0.02)", "lr": 0.01})
    assert _conv({**BASE, "optimizer": "adam(lr=0.01)", "lr": 0.01}).spec("float64").opt.kwargs[
        "lr"
    ] == pytest.approx(0.01)
