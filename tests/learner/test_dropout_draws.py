"""A dropout layer's mask must be drawn as PyTorch's is: each element kept independently with
probability keep, anew at every call (review s23c). Each planted draw is a learner's real slip
(randn for rand, one mask for the batch, a constant seed inside the layer), named; correct
draws in both conventions pass, and the two tests of ``mask_draws`` stay silent on correct
masks of every size."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import layer_check
from nnparity.reference.learner.mask_draws import Draws, constant_log_p, fraction_off
from nnparity.reference.learner.per_layer import check_layer


def _layer(draw="rand", seed="given", p="keep", declared=None):
    """CS231n's dropout (p the keep probability when ``p='keep'``, else the drop one), declared
    as ``p`` unless ``declared`` says otherwise."""

    def fwd(x, dp):
        keep = dp["p"] if p == "keep" else 1 - dp["p"]
        if seed == "given":
            np.random.seed(dp["seed"])
        elif seed == "constant":
            np.random.seed(0)
        if dp["mode"] != "train":
            return x, (dp, None, keep)
        shape = {"rand": x.shape, "randn": x.shape, "rows": x.shape[1:], "cols": (len(x), 1)}
        u = np.random.randn(*shape[draw]) if draw == "randn" else np.random.rand(*shape[draw])
        mask = (u < keep) / keep
        return x * mask, (dp, mask, keep)

    def bwd(dout, cache):
        dp, mask, keep = cache
        return dout * mask if dp["mode"] == "train" else dout

    return layer_check(fwd, bwd, layer="dropout", p=declared or p)


def _finding(v):
    assert v.code == "implementation_bug", v.render()
    (f,) = v.findings
    assert f.code == "dropout_mask", v.render()
    return f


@pytest.mark.parametrize("seed", ["given", "global"])
@pytest.mark.parametrize("p", ["keep", "drop"])
def test_correct_draws_match(seed, p):
    v = check_layer(_layer(seed=seed, p=p))
    assert v.code == "match", v.render()


def test_a_mask_drawn_with_randn_is_named_with_its_fraction():
    f = _finding(check_layer(_layer(draw="randn")))
    assert "75.8%" in f.evidence or "75.7%" in f.evidence, f.evidence
    assert "not drawn as rand < keep" in f.evidence
    assert "randn" in f.hint


def test_p_read_the_other_way_is_still_named_so():
    f = _finding(check_layer(_layer(p="drop", declared="keep")))
    assert "keeps 30% of the elements where p=0.7 means keep 70%" in f.evidence, f.evidence


@pytest.mark.parametrize(
    ("draw", "said"),
    [("rows", "every sample (row) gets the same mask"), ("cols", "whole samples are dropped")],
)
def test_one_mask_shared_along_an_axis_is_named(draw, said):
    f = _finding(check_layer(_layer(draw=draw)))
    assert said in f.evidence, f.evidence
    assert "x's whole shape" in f.hint


def test_a_constant_seed_inside_the_layer_is_named():
    f = _finding(check_layer(_layer(seed="constant")))
    assert "same elements in both training calls" in f.evidence, f.evidence


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.8, 0.95])
@pytest.mark.parametrize("shape", [(1, 3), (2, 2), (3, 5), (64, 10), (200, 250)])
def test_correct_masks_are_never_called_off(keep, shape):
    rng = np.random.default_rng(int(keep * 100) + shape[0])
    for _ in range(200):
        m = rng.random(shape) < keep
        d = Draws(keep)
        d.add(m)
        assert not d.fraction_off() and d.shared_axis() is None


def test_the_two_tests_add_up_over_steps():
    d = Draws(0.5)
    row = np.random.default_rng(0).random(4) < 0.5
    for _ in range(7):  # 4 columns shared by 2 rows: 1/16 a step, 3.7e-9 over seven
        d.add(np.tile(row, (2, 1)))
    assert d.shared_axis() is None
    d.add(np.tile(row, (2, 1)))  # 2.3e-10 over eight: beyond chance
    assert d.shared_axis() == 0
    d.add(
        np.array([[True, False, True, False], [False, True, False, True]])
    )  # one step that varies: not shared
    assert d.shared_axis() is None
    assert fraction_off(7600, 10000, 0.7) and not fraction_off(7100, 10000, 0.7)
    assert constant_log_p(np.ones((3, 1), bool), 0.5) == {0: pytest.approx(np.log(0.25))}
