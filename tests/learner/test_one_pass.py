"""Every batch of the data reaches the learner's code at least once (review s16b: 450 rows
stored class by class, one row a step, and a target wrong for the last class only was a
match, its rows never handed). The watch extends to one pass over the batches, up to
``PASS`` steps; beyond, the batches it hands spread over the data, and the rest is said."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_gradients
from nnparity.reference.learner.row_order import PASS, one_pass


def _blobs(n_per: int, wrong_class: int | None):
    """3 classes stored class by class; 2-5-3 tanh, softmax cross-entropy, one-hot targets
    from a table whose ``wrong_class`` row is a copy of class 1's."""
    r = np.random.default_rng(0)
    X = np.vstack([r.normal(c, 0.5, (n_per, 2)) for c in range(3)])
    y = np.repeat(np.arange(3), n_per)
    table = np.eye(3)
    if wrong_class is not None:
        table[wrong_class] = table[1]
    P = {"W1": r.normal(0, 0.5, (2, 5)), "b1": np.zeros(5), "W2": r.normal(0, 0.5, (5, 3))}
    P["b2"] = np.zeros(3)

    def grads(X, y):
        h = np.tanh(X @ P["W1"] + P["b1"])
        z = h @ P["W2"] + P["b2"]
        p = np.exp(z - z.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        dz = (p - table[y]) / len(X)
        dh = dz @ P["W2"].T * (1 - h**2)
        return {"W1": X.T @ dh, "b1": dh.sum(0), "W2": h.T @ dz, "b2": dz.sum(0)}

    decl = dict(sizes=[2, 5, 3], activations="tanh,softmax", loss="cross_entropy")
    a = from_gradients(P, list(P), grads, optimizer="sgd", lr=0.05, **decl)
    return check(a, X, y, batch_size=1, probe=False)


def test_a_bug_in_the_rows_past_the_old_watch_is_found():
    assert _blobs(150, None).code == "match"
    r = _blobs(150, 2)
    assert r.code == "implementation_bug", r.render()
    assert min(x.step for x in r.records if not x.passed) > 300
    # one row of 3 units a step: a cubic fitted as the derivative fits anything (poly_deriv)
    assert "wrong_activation_derivative" not in r.codes(), r.render()


@pytest.mark.parametrize("wrong", [None, 2])
def test_beyond_one_pass_the_watch_spreads_over_the_data_and_says_what_it_left(wrong):
    r = _blobs(400, wrong)  # 1200 batches of one row: more than PASS
    if wrong is None:
        assert r.code == "match", r.render()
        (left,) = [f for f in r.unchecked if f.code == "rows_not_handed"]
        assert f"{1200 - PASS} of your 1200 batches" in left.evidence
        # what a pass's end does (an optimizer rebuilt each epoch) is said unrun, and how to
        # run it (review s42b F3: the fix's larger watch timed out at the default limit)
        assert "once a pass of 1200 steps ends" in left.evidence, left.evidence
        assert "--watch 1210" in left.hint and "--timeout" in left.hint, left.hint
    else:
        assert r.code == "implementation_bug", r.render()


def test_one_pass_keeps_the_compared_steps_first_and_every_batch_once():
    batches = [np.array([i]) for i in range(50)]
    out, watch, said = one_pass(batches, 3, 20)
    assert watch == 50 and not said and out == batches  # a pass fits: nothing moves
    many = [np.array([i]) for i in range(PASS + 500)]
    out, watch, said = one_pass(many, 3, 20)
    assert watch == PASS and said
    firsts = [int(b[0]) for b in out]
    assert firsts[:3] == [0, 1, 2] and sorted(firsts) == list(range(PASS + 500))
    assert max(firsts[:PASS]) == PASS + 499  # the watch reaches the end of the data
    assert one_pass(many, 3, 0) == (many, 0, [])  # no watch asked: none given
