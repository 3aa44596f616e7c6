"""The review findings of issue 11 (second edition), each rebuilt as a learner writes it and
tested both ways: the bug is caught (and named), its correct twin is ``match``."""

from __future__ import annotations

import pytest
from review_learners import adam_learner, odd_data

from nnparity.reference.learner import check

ODD = [(8, 0.01), (16, 0.001), (4, 0.1)]  # (H, lr) of the 1-H-1 fit on odd-symmetric data


@pytest.mark.parametrize("H,lr", ODD)
@pytest.mark.parametrize("style", ["step", "loss", "gradients"])
def test_correct_adam_on_odd_symmetric_data_matches(style, H, lr):
    """db1 = db2 = 0 in exact maths: each side's Adam turns its round-off into a step of
    about lr of either sign. The post-step weights' allowance (Adam stepped at g +- R_g)
    covers that step there, and only there."""
    X, Y = odd_data()
    r = check(adam_learner(style, H=H, lr=lr), X, Y, steps=10, probe=False)
    assert r.code == "match" and r.findings == (), r.render()


@pytest.mark.parametrize("bug", ["beta1", "nosqrt", "lr"])
@pytest.mark.parametrize("H,lr", ODD[:2])
@pytest.mark.parametrize("style", ["step", "loss"])
def test_planted_adam_bugs_on_odd_symmetric_data_are_caught(style, H, lr, bug):
    """The allowance is a full step only where the gradient is round-off: beta1 wrong, a
    missing root and lr off by 1e-3 relative still fail on the other weights."""
    X, Y = odd_data()
    r = check(adam_learner(style, bug, H=H, lr=lr), X, Y, steps=10, probe=False)
    assert r.code == "implementation_bug", r.render()
    first = min(x.step for x in r.records if not x.passed)
    assert first <= 4
