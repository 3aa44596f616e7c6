"""scratch's float64 tanh (through expm1, for speed) is NumPy's to round-off everywhere: near 0,
where a form through 1 - exp loses every digit, at the tails, and at the special values."""

from __future__ import annotations

import numpy as np

from nnparity.scratch.activations import _tanh


def test_float64_tanh_is_numpys_to_a_few_ulp():
    mags = 10 ** np.linspace(-300, 3, 20001)
    z = np.concatenate([mags, -mags, [0.0, 20.0, 40.0, 1e-320, -1e-320]])
    want, got = np.tanh(z), _tanh(z)
    assert np.all(np.abs(got - want) <= 4 * np.spacing(np.abs(want)))
    special = np.array([0.0, -0.0, np.inf, -np.inf, np.nan])
    out = _tanh(special)
    assert np.array_equal(out, np.tanh(special), equal_nan=True)
    assert np.array_equal(np.signbit(out), np.signbit(special))


def test_in_place_and_float32():
    z = np.random.default_rng(0).normal(size=(5, 7))
    want = _tanh(z)
    assert _tanh(z, out=z) is z and np.array_equal(z, want)
    z32 = np.linspace(-5, 5, 11, dtype=np.float32)
    assert np.array_equal(_tanh(z32), np.tanh(z32))  # float32: NumPy's own (vectorised)
