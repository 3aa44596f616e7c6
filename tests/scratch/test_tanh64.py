"""scratch's float64 tanh through expm1 (for speed where NumPy's float64 tanh is scalar) is
NumPy's to round-off everywhere: near 0, where a form through 1 - exp loses every digit, at the
tails, and at the special values. ``_tanh`` takes NumPy's own where its loop is vectorised."""

from __future__ import annotations

from importlib import import_module

import numpy as np

A = import_module("nnparity.scratch.activations")  # the module (the package's name: the registry)
_tanh, _tanh_expm1 = A._tanh, A._tanh_expm1


def test_float64_tanh_is_numpys_to_a_few_ulp():
    mags = 10 ** np.linspace(-300, 3, 20001)
    z = np.concatenate([mags, -mags, [0.0, 20.0, 40.0, 1e-320, -1e-320]])
    want, got = np.tanh(z), _tanh_expm1(z)
    assert np.all(np.abs(got - want) <= 4 * np.spacing(np.abs(want)))
    special = np.array([0.0, -0.0, np.inf, -np.inf, np.nan])
    out = _tanh_expm1(special)
    assert np.array_equal(out, np.tanh(special), equal_nan=True)
    assert np.array_equal(np.signbit(out), np.signbit(special))


def test_in_place_and_float32():
    z = np.random.default_rng(0).normal(size=(5, 7))
    want = _tanh_expm1(z)
    assert _tanh_expm1(z, out=z) is z and np.array_equal(z, want)
    z32 = np.linspace(-5, 5, 11, dtype=np.float32)
    assert np.array_equal(_tanh(z32), np.tanh(z32))  # float32: NumPy's own (vectorised)


def test_numpys_own_where_its_float64_loop_is_vectorised(monkeypatch):
    z = np.random.default_rng(1).normal(size=(4, 9))
    for simd, want in ((True, np.tanh(z)), (False, _tanh_expm1(z))):
        monkeypatch.setattr(A, "_SIMD_TANH64", simd)
        assert np.array_equal(_tanh(z), want)
