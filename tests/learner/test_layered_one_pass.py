"""The layered check compares at least one pass over every batch (review s18b: a max-pool
backward that routes to every tied maximum, with ties only in batch 15 of 20, said match at
the default 10 steps, and nothing said that batches 11-20 were never compared)."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_gradients

SPEC = "1x4x4 conv(2,k=1) maxpool(2) flatten dense(3) loss=cross_entropy opt=sgd(lr=0.1)"


class Net:
    def __init__(self, all_ties: bool):
        r = np.random.RandomState(0)
        self.cw, self.cb = 0.5 * r.randn(2, 1, 1, 1), 0.1 * r.randn(2)
        self.fw, self.fb = 0.3 * r.randn(8, 3), np.zeros(3)
        self.all_ties = all_ties

    def forward(self, X):
        self.X = X
        self.c = np.einsum("fc,nchw->nfhw", self.cw[:, :, 0, 0], X) + self.cb[None, :, None, None]
        n = len(X)
        self.win = (
            self.c.reshape(n, 2, 2, 2, 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(n, 2, 2, 2, 4)
        )
        self.flat = self.win.max(-1).reshape(n, -1)
        return self.flat @ self.fw + self.fb

    def grads(self, X, y):
        s = self.forward(X)
        p = np.exp(s - s.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        d = p.copy()
        d[np.arange(len(y)), y] -= 1
        d /= len(y)
        self.fdw, self.fdb = self.flat.T @ d, d.sum(0)
        dp = (d @ self.fw.T).reshape(len(X), 2, 2, 2)
        hit = self.win == self.win.max(-1, keepdims=True)  # every tied maximum
        if not self.all_ties:  # the first maximum only, as PyTorch
            hit = np.eye(4, dtype=bool)[self.win.argmax(-1)]
        dwin = hit * dp[..., None]
        dc = (
            dwin.reshape(len(X), 2, 2, 2, 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(len(X), 2, 4, 4)
        )
        cdw = np.einsum("nfhw,nchw->fc", dc, X)[:, :, None, None]
        return [cdw, dc.sum((0, 2, 3)), self.fdw, self.fdb]


def _data():
    r = np.random.RandomState(3)
    X = r.randn(160, 1, 4, 4)
    X[112:120] = 0.0  # batch 15 of 20: a blank image, every window a tie
    y = (X[:, 0, :2].sum((1, 2)) > 0).astype(int) + (X[:, 0, 2:].sum((1, 2)) > 0).astype(int)
    return X, y


@pytest.mark.parametrize("all_ties", [False, True])
def test_a_bug_in_a_late_batch_is_found_at_the_default_steps(all_ties):
    net = Net(all_ties)
    a = from_gradients(net, ["cw", "cb", "fw", "fb"], net.grads, forward=net.forward, spec=SPEC,
                       batch_size=8)  # fmt: skip
    r = check(a, *_data(), probe=False)
    if not all_ties:
        assert r.code == "match", r.render()
        return
    assert r.code == "implementation_bug", r.render()
    assert r.findings[0].step == 15, r.render()


def test_past_64_batches_the_rest_spread_over_the_data_and_the_ones_left_are_said():
    net = Net(False)
    a = from_gradients(net, ["cw", "cb", "fw", "fb"], net.grads, forward=net.forward, spec=SPEC,
                       batch_size=8)  # fmt: skip
    r = np.random.RandomState(4)
    X = r.randn(8 * 70 + 3, 1, 4, 4)  # 71 batches, the last one short
    y = r.randint(0, 3, len(X))
    res = check(a, X, y, probe=False)
    assert res.code == "match" and res.steps == 64, res.render()
    notes = {f.code: f for f in res.findings}
    assert "7 of your 71 batches were compared at no step" in notes["rows_not_handed"].evidence
    assert "compared as step 64" in notes["short_batch_compared"].evidence
