"""A declared dropout mask that keeps every entry is no evidence of a slip (layered_masks.py
``_drawn_by``): iamtrask's dropout written right, a 4x4 mask at keep 0.8 (all kept in 2.8% of
draws) all kept at step 3, read as "one mask for every sample of the batch" (review s28 f14f,
a false alarm). Both ways: the same program with one mask row for the whole batch is named."""

import numpy as np
import pytest

from nnparity.reference.learner import check, from_step


def _trask(rows: bool):
    np.random.seed(1)
    X = np.array([[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]], float)
    y = np.array([[0, 1, 1, 0]], float).T
    g = {"w0": 2 * np.random.random((3, 4)) - 1, "w1": 2 * np.random.random((4, 1)) - 1,
         "mask": np.ones((4, 4))}  # fmt: skip

    def step(X, y):
        h = 1 / (1 + np.exp(-(X @ g["w0"])))
        if rows:  # the slip: one row of the mask for every sample
            g["mask"] = np.broadcast_to(np.random.rand(4) < 0.8, (4, 4)).astype(float)
        else:
            g["mask"] = np.random.binomial([np.ones((len(X), 4))], 0.8)[0]
        m = g["mask"] / 0.8
        a1 = h * m
        a2 = 1 / (1 + np.exp(-(a1 @ g["w1"])))
        d2 = (a2 - y) * a2 * (1 - a2)
        d1 = d2 @ g["w1"].T * h * (1 - h) * m
        g["w1"] -= 0.5 * a1.T @ d2
        g["w0"] -= 0.5 * X.T @ d1
        return 0.5 * np.sum((a2 - y) ** 2)

    a = from_step(g, ["['w0']", "['w1']"], step, masks=["['mask']"], reduction="sum",
                  spec="3 dense(4) sigmoid dropout(0.2) dense(1) sigmoid bias=false "
                  "loss=half_sse opt=sgd(lr=0.5)")  # fmt: skip
    return a, X, y


@pytest.mark.parametrize("rows", [False, True])
def test_an_all_kept_mask_is_no_evidence_and_one_row_for_all_is_named(rows):
    a, X, y = _trask(rows)
    r = check(a, X, y, steps=10, probe=False)
    if not rows:
        assert r.code == "match", r.render()
        return
    assert r.code == "implementation_bug", r.render()
    assert r.findings[0].code == "dropout_mask", r.render()
