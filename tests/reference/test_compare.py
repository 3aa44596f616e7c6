"""``compare`` both ways: equal and round-off pass; a planted difference fails, located."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nnparity.reference.compare import compare, compare_many
from nnparity.reference.tolerance import TOLERANCES, tolerance_for
from nnparity.scratch import SpecError

TOL = TOLERANCES["float64"]


def cmp(a, e, tol=TOL, **kw):
    return compare(a, e, tol, spec="s", mode="free", step=1, stage="grad", tensor="W1", **kw)


def test_equal_and_round_off_pass():
    e = np.linspace(-1, 1, 12).reshape(3, 4)
    assert cmp(e.copy(), e).passed
    r = cmp(e * (1 + 1e-12), e)
    assert r.passed and r.mismatched == 0 and r.max_abs > 0
    assert 0 < r.tol_used < 1


def test_one_bad_element_is_found_and_counted():
    e = np.linspace(-1, 1, 12).reshape(3, 4)
    a = e.copy()
    a[2, 1] += 1e-3
    r = cmp(a, e)
    assert not r.passed
    assert r.mismatched == 1 and r.numel == 12 and r.worst_index == (2, 1)
    assert r.tol_used > 1
    assert r.max_abs == pytest.approx(1e-3)
    msg = r.message()
    assert "Mismatched elements: 1 / 12 (8.3%)" in msg
    assert "at index (2, 1)" in msg and "step 1 / grad / W1" in msg


def test_shape_mismatch_fails_before_values():
    r = cmp(np.zeros((3, 4)), np.zeros((4, 3)))
    assert not r.passed and r.shape == (3, 4)


def test_zeros_and_near_zero_never_give_nan():
    r = cmp(np.zeros(5), np.zeros(5))
    assert r.passed and r.max_rel == 0.0
    r = cmp(np.array([1e-30, 0.0]), np.array([0.0, 0.0]))
    assert np.isfinite(r.max_rel)


def test_a_tiny_scale_does_not_make_max_rel_absurd():
    """Review s28 c04: a bound's record passes scale 1e-300, and an entry at 0 beside others
    near 1 read max rel 7e+288 in a matching table. The floor is the tensor's own scale then;
    with that scale, one wrong entry near 0 still reads a large relative error."""
    e = np.array([1.0, -0.5, 0.0])
    r = cmp(e + np.array([0.0, 0.0, 1e-15]), e, scale=1e-300)
    assert r.max_rel == pytest.approx(1e-9)
    r = cmp(e + np.array([0.0, 0.0, 1e-3]), e, scale=1e-300)
    assert r.max_rel == pytest.approx(1e3)


def test_nonfinite():
    assert cmp(np.array([np.nan, 1.0]), np.array([np.nan, 1.0])).nonfinite
    assert cmp(np.array([np.inf, 1.0]), np.array([np.nan, 1.0])).passed
    r = cmp(np.array([np.nan, 1.0]), np.array([0.5, 1.0]))
    assert not r.passed and r.worst_index == (0,)


def test_scale_widens_atol_for_a_whole_group():
    e = np.array([1e-9, -1e-9])
    a = np.array([3e-9, -1e-9])
    assert not cmp(a, e).passed
    assert cmp(a, e, scale=1.0).passed


def test_tolerance_overrides_come_in_pairs():
    with pytest.raises(SpecError, match="together"):
        tolerance_for("float64", rtol=1e-3)
    assert tolerance_for("float32", 3, "free") == TOLERANCES["float32"].widened(3)
    assert tolerance_for("float32", 3, "resync") == TOLERANCES["float32"]


def test_huge_finite_values_are_finite_and_compared_by_value():
    """A sum of finite values can overflow to inf: that must not make the record non-finite."""
    e = np.full(4, 1e308)
    r = cmp(e.copy(), e)
    assert r.passed and not r.nonfinite and r.max_abs == 0.0
    a = e.copy()
    a[3] = -1e308
    r = cmp(a, e)
    assert not r.passed and not r.nonfinite and r.worst_index == (3,)


def test_zero_atol_judges_by_rtol_alone():
    tol = tolerance_for("float64", 1, "free", rtol=1e-3, atol=0.0)
    assert cmp(np.array([0.0, 1.0005]), np.array([0.0, 1.0]), tol).passed
    r = cmp(np.array([1e-12, 1.0]), np.array([0.0, 1.0]), tol)
    assert not r.passed and r.mismatched == 1 and r.worst_index == (0,)


def test_empty_arrays_pass_with_zero_error():
    r = cmp(np.zeros((0, 3)), np.zeros((0, 3)))
    assert r.passed and r.numel == 0 and r.max_abs == 0.0


def test_float32_against_float64_fails_as_a_dtype_mismatch():
    e = np.linspace(-1, 1, 6).astype(np.float32)
    r = cmp(e.astype(np.float64), e, TOLERANCES["float32"])
    assert not r.passed and r.mismatched == 0 and r.expected_dtype == "float32"
    assert "dtype mismatch: scratch float64, torch float32" in r.message()
    assert cmp(e.astype(np.float64), e, TOLERANCES["float32"], check_dtype=False).passed


def _same(r1, r2):
    """Records equal field by field, NaN equal to NaN."""
    from dataclasses import astuple

    return all(
        x == y or (isinstance(x, float) and isinstance(y, float) and np.isnan(x) and np.isnan(y))
        for x, y in zip(astuple(r1), astuple(r2), strict=True)
    )


_values = st.one_of(
    st.floats(-10, 10),
    st.floats(-1e-8, 1e-8),
    st.sampled_from([0.0, np.nan, np.inf, -np.inf, 1e308, -1e308]),
)


@st.composite
def _items(draw, wild=True):
    """Tensors for a step; ``wild=False``: finite, non-empty and well-shaped (the fast path)."""
    items = []
    for i in range(draw(st.integers(1, 6))):
        shapes = [(), (1,), (3,), (2, 3), (4, 1)] + ([(0,)] if wild else [])
        shape = draw(st.sampled_from(shapes))
        dtype = draw(st.sampled_from([np.float32, np.float64]))
        n = int(np.prod(shape))
        values = _values if wild else st.one_of(st.floats(-10, 10), st.floats(-1e-8, 1e-8))
        a = np.array(draw(st.lists(values, min_size=n, max_size=n)), dtype=np.float64)
        with np.errstate(over="ignore"):
            a = a.reshape(shape).astype(dtype)
            hows = ["same", "round-off", "other", "dtype"] + (["shape"] if wild else [])
            how = draw(st.sampled_from(hows))
            e = {
                "same": a.copy(),
                "round-off": a * (1 + 1e-7),
                "other": a + draw(st.floats(-1e-3, 1e-3)),
                "dtype": a.astype(np.float64 if dtype is np.float32 else np.float32),
                "shape": np.zeros((5,), dtype),
            }[how]
        scale = draw(st.sampled_from([None, 0.0, 1e-3, 2.0]))
        items.append(("grad", f"W{i}", a, e, scale))
    return items


def _check_many(items, tol_kind):
    tol = (
        tolerance_for("float64", 1, "free", rtol=1e-3, atol=0.0)
        if tol_kind == "atol0"
        else TOLERANCES[tol_kind]
    )
    with np.errstate(all="ignore"):
        many = compare_many(items, tol, spec="s", mode="free", step=2)
        one = [
            compare(a, e, tol, spec="s", mode="free", step=2, stage=s, tensor=n, scale=sc)
            for s, n, a, e, sc in items
        ]
    assert len(many) == len(one)
    for r1, r2 in zip(many, one, strict=True):
        assert _same(r1, r2), (r1, r2)
    return many


@settings(max_examples=200, deadline=None)
@given(items=_items(), tol_kind=st.sampled_from(["float32", "float64", "atol0"]))
def test_compare_many_gives_exactly_the_records_of_compare(items, tol_kind):
    _check_many(items, tol_kind)


@settings(max_examples=200, deadline=None)
@given(items=_items(wild=False), tol_kind=st.sampled_from(["float32", "float64"]))
def test_compare_many_fast_path_gives_exactly_the_records_of_compare(items, tol_kind):
    from unittest import mock

    import nnparity.reference.compare as module

    with mock.patch.object(module, "compare", wraps=module.compare) as one_by_one:
        many = _check_many(items, tol_kind)
    assert one_by_one.call_count == 0, "finite, well-shaped tensors must take the batched path"
    assert len(many) == len(items)


def test_a_per_element_bound_widens_only_its_element():
    e = np.array([1.0, 1.0])
    a = np.array([1.0 + 1e-6, 1.0 + 1e-6])
    assert not cmp(a, e).passed
    r = cmp(a, e, bound=np.array([2e-6, 0.0]))
    assert not r.passed and r.mismatched == 1 and r.worst_index == (1,)
    assert cmp(a, e, bound=np.array([2e-6, 2e-6])).passed
    # an allowance that overflowed never lets a difference pass
    assert not cmp(a, e, bound=np.array([np.inf, np.nan])).passed


def test_compare_many_with_bounds_gives_the_records_of_compare():
    e = np.linspace(-1, 1, 6)
    a = e + 1e-6
    items = [("grad", "W1", a, e, None, np.full(6, 2e-6)), ("grad", "b1", a, e, None, None)]
    many = compare_many(items, TOL, spec="s", mode="free", step=1)
    one = [
        compare(x, y, TOL, spec="s", mode="free", step=1, stage=s, tensor=n, bound=b)
        for s, n, x, y, _, b in items
    ]
    assert [r.passed for r in many] == [True, False]
    assert all(_same(r1, r2) for r1, r2 in zip(many, one, strict=True))


def _both(actual, expected, tol, scale=None):
    kw = dict(spec="s", mode="resync", step=1)
    one = compare(actual, expected, tol, stage="grad", tensor="t", scale=scale, **kw)
    (many,) = compare_many([("grad", "t", actual, expected, scale)], tol, **kw)
    return one, many


@pytest.mark.parametrize("scale", [1e-320, None])
def test_an_allowance_that_underflows_to_zero_hides_no_failure(scale):
    """Where atol * scale underflows to 0, an element equal on both sides has 0 / 0: a NaN
    that no maximum sees, which once let every other element's failure pass."""
    tol = TOLERANCES["float64"]
    expected = np.array([0.0, 1e-320 if scale is None else 1.0])
    for rec in _both(np.array([0.0, 5.0]), expected, tol, scale):
        assert not rec.passed and rec.mismatched == 1 and rec.worst_index == (1,)
    for rec in _both(expected.copy(), expected, tol, scale):  # equal: passes, nothing used
        assert rec.passed and rec.tol_used == 0


def test_compare_many_refuses_a_flat_of_other_pairs():
    from nnparity.reference.compare import flatten

    tol, kw = TOLERANCES["float64"], dict(spec="s", mode="m", step=1)
    items = [("grad", "w", np.zeros(3), np.ones(3), None), ("loss", "loss", 2.0, 2.0, None)]
    other = flatten([(np.zeros(3), np.zeros(3)), (2.0, 2.0)])
    with pytest.raises(ValueError, match="own pairs"):
        compare_many(items, tol, flat=other, **kw)
    own = flatten([(a, e) for _, _, a, e, _ in items])
    assert [r.passed for r in compare_many(items, tol, flat=own, **kw)] == [False, True]
