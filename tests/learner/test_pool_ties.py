"""Max-pool at a tied maximum: any share of the window's gradient among its tied maxima is a
subgradient as valid as PyTorch's (all to the first), so it is a note beside a match; a dx that
counts ties more than once, or leaks to a position that is no maximum, stays a bug (review s23c
F11: ties to the last maximum, or split, were called ``pool_routing``)."""

import layer_impls as L
import numpy as np
import pytest

from nnparity.reference.learner import layer_check
from nnparity.reference.learner.layer_cases import Case
from nnparity.reference.learner.layer_variants import _pool_route
from nnparity.reference.learner.per_layer import check_layer
from nnparity.reference.learner.pool_ties import _split, tie_routing


def _bwd(route):
    fwd, _ = L.vec_pool()

    def bwd(dout, cache):
        x, win, s = cache
        ph, pw = win.shape[-2:]
        return route(Case("", x, {}, {"pool_height": ph, "pool_width": pw, "stride": s}), dout)

    return fwd, bwd


def _last(case, dout):
    return _pool_route("last")(case, dout)["dx"]


def _scaled_first(k):
    """The first maximum takes k times the window's gradient."""
    return lambda case, dout: k * _pool_route("first")(case, dout)["dx"]


@pytest.mark.parametrize(("route", "how"), [(_last, "last tied"), (_split, "split equally")])
def test_a_valid_tie_convention_matches_with_a_note(route, how):
    v = check_layer(layer_check(*_bwd(route), layer="max_pool"))
    assert v.code == "match", v.render()
    (note,) = v.findings
    assert note.code == "pool_ties" and note.kind == "note"
    assert how in note.evidence and "not a bug" in note.hint


def test_any_share_among_tied_maxima_of_windows_apart_is_valid():
    """Windows apart (2x2, stride 2): 0.7 / 0.3 between the first and last tied maxima is a
    share; 1.5 / -0.5 sums alike but is none. (The layer check's tie cases overlap, where the
    two common forms alone are taken: tests above.)"""
    x = np.random.default_rng(0).integers(0, 2, size=(2, 3, 4, 4)).astype(float)
    case = Case("ties apart", x, {}, {"pool_height": 2, "pool_width": 2, "stride": 2})
    dout = np.random.default_rng(1).normal(size=(2, 3, 2, 2))
    first, last = _pool_route("first")(case, dout)["dx"], _last(case, dout)
    assert not np.array_equal(first, last)  # ties are there
    assert tie_routing(case, dout, 0.7 * first + 0.3 * last, 1e-12) == (
        "shared among the tied maxima otherwise"
    )
    assert tie_routing(case, dout, 1.5 * first - 0.5 * last, 1e-12) is None
    assert tie_routing(case, dout, 2 * first, 1e-12) is None


@pytest.mark.parametrize(
    "route",
    [
        lambda case, dout: _pool_route("all_max")(case, dout)["dx"],  # ties counted k times
        _scaled_first(0.5),  # half the gradient
        lambda case, dout: _pool_route("all")(case, dout)["dx"],  # to every element
    ],
    ids=["every_tied_maximum", "half", "whole_window"],
)
def test_a_share_that_is_no_subgradient_stays_a_bug(route):
    v = check_layer(layer_check(*_bwd(route), layer="max_pool"))
    assert v.code == "implementation_bug", v.render()
    assert any(f.code != "pool_ties" for f in v.findings)


def test_pytorch_own_routing_has_no_note():
    v = check_layer(layer_check(*_bwd(lambda c, d: _pool_route("first")(c, d)["dx"]),
                                layer="max_pool"))  # fmt: skip
    assert v.code == "match" and not v.findings, v.render()


def test_a_tie_share_with_a_sign_flipped_part_is_no_subgradient():
    """1.5 to the first maximum and -0.5 to the last sums to the gradient but is no share."""

    def signed(case, dout):
        return 1.5 * _pool_route("first")(case, dout)["dx"] - 0.5 * _last(case, dout)

    v = check_layer(layer_check(*_bwd(signed), layer="max_pool"))
    assert v.code == "implementation_bug", v.render()
