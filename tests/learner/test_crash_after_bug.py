"""A crash after a named bug has parted earlier steps is said after it, as its likely
consequence (crash.py ``crash_after``; review s28 f05: a derivative slip drove Brownlee's
weights apart until math.exp overflowed at step 5, and the crash led with "fix the error in
your code"). Both ways: a crash at step 1, before anything parted, still leads."""

import math

import pytest
from tanh_net import adapter, grads_of, net

from nnparity import check


@pytest.mark.parametrize("crash_at", [1, 3])
def test_a_crash_after_a_named_bug_follows_it(crash_at):
    P, X, Y = net()
    right, calls = grads_of(P), []

    def grads(X, Y):
        calls.append(1)
        if len(calls) == crash_at:
            math.exp(1e4)  # OverflowError, as a diverged sigmoid's math.exp raises
        return [2 * g for g in right(X, Y)]  # the named bug: every gradient doubled

    r = check(adapter(P, grads), X, Y, steps=5, probe=False)
    assert r.code == "implementation_bug", r.render()
    codes = r.codes()
    if crash_at == 1:
        assert codes[0] == "learner_exception", r.render()
        return
    assert codes[0] == "scale_factor" and "learner_exception" in codes, r.render()
    crash = r.finding("learner_exception")
    assert "likely a consequence of scale_factor from step 1" in crash.evidence, r.render()
