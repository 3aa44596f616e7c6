"""Dropout masks in a whole network must be dropout's: each element kept independently with
probability keep (review s23c F14). The twin applies whatever mask it is given, so a mask drawn
with ``randn`` or one mask for the whole batch said ``match`` once declared (``masks=``), the
route the refusal itself recommends. Now a draw replayed from NumPy's generator is named when
it is one of these slips, a declared mask that is such a draw element for element is named
too, and declared masks from a private generator are held to the kept fraction and to
independence across samples over the steps; correct masks from the same sources still match."""

from __future__ import annotations

import numpy as np
import pytest
from test_whole_layers import _fc, _load, _run, _seeded_numpy  # noqa: F401 - autouse


def _net(draw, declared: bool):
    """The CS231n FullyConnectedNet example (keep 0.75) with dropout's mask drawn by ``draw``
    (shape, keep) -> bool array; ``declared``: the masks given as masks=[...]."""
    m = _load("net_fc_bn_dropout_ok")
    drawn: list[np.ndarray] = []

    def forward(x, dp):
        if dp["mode"] != "train":
            return x, (dp, None)
        mask = draw(x.shape, dp["p"]) / dp["p"]
        drawn.append(mask)
        return x * mask, (dp, mask)

    m.dropout_forward = forward
    kw = {"masks": [lambda: drawn[-2], lambda: drawn[-1]]} if declared else {}
    return _run(_fc(m, **kw), steps=4)


def _named(r, said: str):
    assert r.code == "implementation_bug", r.render()
    f = r.findings[0]
    assert f.code == "dropout_mask" and said in f.evidence, r.render()
    assert "np.random.rand(*x.shape) < keep" in f.hint


SLIPS = {
    "randn": (lambda s, k: np.random.randn(*s) < k, "normal draws, which keep Phi(keep)"),
    "rows": (lambda s, k: np.random.rand(*s[1:]) < k, "one mask for every sample of the batch"),
}


@pytest.mark.parametrize("declared", [False, True])
@pytest.mark.parametrize("slip", sorted(SLIPS))
def test_a_slip_drawn_from_numpys_generator_is_named(slip, declared):
    draw, said = SLIPS[slip]
    _named(_net(lambda s, k: np.broadcast_to(draw(s, k), s), declared), said)


@pytest.mark.parametrize("declared", [False, True])
def test_correct_draws_match(declared):
    r = _net(lambda s, k: np.random.rand(*s) < k, declared)
    assert r.code == "match", r.render()


def test_declared_masks_from_a_private_generator_are_held_to_independent_draws():
    rng = np.random.default_rng(5)  # no replay reaches it: only the masks themselves tell
    r = _net(lambda s, k: rng.random(s) < k, declared=True)
    assert r.code == "match", r.render()
    shared = _net(lambda s, k: np.broadcast_to(rng.random(s[1:]) < k, s), declared=True)
    _named(shared, "every sample (row) gets the same mask")
    half = _net(lambda s, k: rng.random(s) < 0.4, declared=True)  # scaled by 1 / 0.75
    _named(half, "where keep = 75%: not drawn as rand < keep")
