"""The round-off envelope is computed only for a step with an element outside ``rtol |e|``
(``judge._within_rtol``): the skip must never change a verdict, only save the work."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from test_judge_oracle import _B1Times

from nnparity.reference import engine
from nnparity.reference.compare import compare_many
from nnparity.reference.engine import run_parity
from nnparity.reference.judge import TINY, _within_rtol
from nnparity.reference.tolerance import Tolerance
from nnparity.scratch import Optimizer, Spec, build

finite = st.floats(-1e6, 1e6, allow_nan=False, width=64)


@settings(max_examples=200, deadline=None)
@given(
    e=arrays(np.float64, st.integers(1, 12), elements=finite),
    frac=st.floats(-1.0, 1.0),
    bound=st.floats(0.0, 1e3),
    tiny=st.booleans(),
)
def test_a_step_within_rtol_passes_whatever_its_allowances(e, frac, bound, tiny):
    tol = Tolerance(rtol=1e-7, atol=1e-7)
    a = e + frac * tol.rtol * np.abs(e) * (1 - 1e-9)
    pairs = {("grad", "W1"): (a, e)}
    assert _within_rtol(pairs, tol.rtol)
    item = ("grad", "W1", a, e, TINY if tiny else None, np.full_like(e, bound))
    (rec,) = compare_many([item], tol, spec="s", mode="resync", step=1)
    assert rec.passed


@pytest.mark.parametrize(
    "pair",
    [
        (np.array([1.0, 0.0]), np.array([1.0, 1e-300])),  # an element at 0 on one side only
        (np.array([np.nan]), np.array([1.0])),
        (np.array([1.0, 2.0]), np.array([[1.0, 2.0]])),  # misshapen
        (np.array(1.0 + 1e-6), np.array(1.0)),
    ],
)
def test_a_step_with_one_element_outside_rtol_computes_the_envelope(pair):
    assert not _within_rtol({("grad", "W1"): pair, ("loss", "loss"): (1.0, 1.0)}, 1e-7)


def _DoubledB1(spec: Spec) -> _B1Times:  # noqa: N802 - stands where a class did
    """Scratch's network with b1's gradient doubled (a planted backward bug)."""
    return _B1Times(spec, 2.0)


def _ascent(spec: Spec):
    net = build(spec)
    flip = Optimizer(
        net.opt.init, lambda g, s, p: net.opt.update({k: -v for k, v in g.items()}, s, p)
    )
    return net._replace(opt=flip)


SPECS = [
    "4-6-3 tanh,identity loss=mse opt=adam(lr=0.01)",
    "3-4-1 tanh,identity loss=mse bias_init=constant(value=12)",
    "2-4 tanh loss=mse init=zeros bias_init=constant(value=16.4)",
    "5-8-3 relu,identity loss=cross_entropy opt=sgd(lr=0.1,momentum=0.9) dtype=float32",
]


@pytest.mark.parametrize("text", SPECS)
@pytest.mark.parametrize("mode", ["resync", "free"])
@pytest.mark.parametrize("planted", [None, _DoubledB1, _ascent])
def test_skipping_the_envelope_never_changes_a_record(text, mode, planted, monkeypatch):
    _lazy_and_always(text, mode, planted, monkeypatch)


def _lazy_and_always(text, mode, planted, monkeypatch) -> list[bool]:
    """Run with the skip and without; return whether each step skipped the envelope."""
    spec = Spec.parse(text)
    net = planted(spec) if planted else None
    skipped = []

    def recording(pairs, rtol, flat=None):
        skipped.append(_within_rtol(pairs, rtol, flat))
        return skipped[-1]

    monkeypatch.setattr(engine, "_within_rtol", recording)
    lazy = run_parity(spec, 4, mode=mode, net=net, finite_differences=False)
    monkeypatch.setattr(engine, "_within_rtol", lambda pairs, rtol, flat=None: False)
    always = run_parity(spec, 4, mode=mode, net=net, finite_differences=False)
    assert [r.passed for r in lazy.records] == [r.passed for r in always.records]
    assert lazy.passed == always.passed
    assert lazy.passed == (planted is None)
    return skipped


def test_the_envelope_is_skipped_on_agreeing_steps(monkeypatch):
    skipped = _lazy_and_always(SPECS[0], "resync", None, monkeypatch)
    assert any(skipped), "the lazy path was never taken: this test file tests nothing"


def test_the_skip_reads_every_pair_when_one_is_empty():
    """An empty pair has no element to hold, but the others still decide."""
    empty = (np.zeros((0, 3)), np.zeros((0, 3)))
    assert _within_rtol({("a", "x"): empty, ("b", "y"): (np.ones(2), np.ones(2))}, 1e-7)
    off = (np.ones(2), np.full(2, 2.0))
    assert not _within_rtol({("a", "x"): empty, ("b", "y"): off}, 1e-7)
    assert not _within_rtol({("b", "y"): (np.ones(2), np.ones(3))}, 1e-7)
    assert _within_rtol({("a", "x"): empty}, 1e-7)
