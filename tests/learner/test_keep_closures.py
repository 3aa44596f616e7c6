"""What a learner's functions reach is kept and put back (``keep``): also the state of a
helper they close over (review s16: an Adam whose moments live in dicts only ``upd`` closes
over, called from ``step``, kept its moments from the end of the check when the check ran
again from its state before step 1: a false alarm on the data's halves)."""

from __future__ import annotations

import numpy as np

from nnparity.reference.learner.keep import restore, snapshot


def test_state_held_by_a_helper_the_step_closes_over_is_put_back():
    M = {"W": np.zeros(3)}
    T = [0]

    def upd(g):
        M["W"] = 0.9 * M["W"] + 0.1 * g

    def step():
        T[0] += 1
        upd(np.ones(3))

    kept = snapshot(step)
    step()
    step()
    restore(kept)
    assert T == [0] and np.array_equal(M["W"], np.zeros(3))
