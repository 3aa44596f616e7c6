"""The adversarial review of the whole-layered-network check (issue 15), each finding both
ways: the correct learner passes, the planted bug is caught and named. A small CS231n-style
learner (dense - [batchnorm] - relu - [dropout] - dense - softmax) carries the bugs: running
statistics moved by the inference pass, a dropout mask drawn once, a 1/N from a fixed batch
size, (out, in) square weights, a private generator, a loss clip, L2 on biases, names swapped."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from test_whole_layers import _seeded_numpy  # noqa: F401 - autouse

from nnparity.reference.learner import LearnerError, check, from_loss

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "learners"


class Mini:
    """dense(H) [batchnorm] relu [dropout(keep)] dense(C), softmax cross-entropy; CS231n's
    running average (0.9 old, biased variance) and p keeping. ``bug`` plants one bug."""

    def __init__(self, d=5, h=8, c=3, dt="float64", bn=False, keep=None, bug="", reg=0.0):
        r = np.random.RandomState(1)
        self.dt, self.bn, self.keep, self.bug, self.reg = np.dtype(dt), bn, keep, bug, reg
        w1 = 0.3 * r.randn(d, h)
        self.params = {
            "W1": (w1.T if "outin" in bug else w1).astype(dt),
            "b1": (0.1 * r.randn(h)).astype(dt),
            "W2": (0.3 * r.randn(h, c)).astype(dt),
            "b2": np.zeros(c, dt),
        }
        if bn:
            self.params.update(gamma=np.ones(h, dt), beta=np.zeros(h, dt))
        self.bn_param: dict = {}
        self.mask = None
        self.rng = np.random.default_rng(0)

    def loss(self, X, y=None):
        p, n, train, bug = self.params, len(X), y is not None, self.bug
        W1 = p["W1"].T if "outin" in bug else p["W1"]
        a = X @ W1 + p["b1"]
        z, xh, var = a, None, None
        if self.bn:
            rm = self.bn_param.get("running_mean", np.zeros(a.shape[1]))
            rv = self.bn_param.get("running_var", np.zeros(a.shape[1]))
            if train:
                mu, var = a.mean(0), a.var(0)
                if "first_batch" in bug and not self.bn_param.get("started"):
                    rm, rv = mu.copy(), var.copy()  # ML-From-Scratch: if running is None
                    self.bn_param["started"] = True
                xh = (a - mu) / np.sqrt(var + 1e-5)
                rm, rv = 0.9 * rm + 0.1 * mu, 0.9 * rv + 0.1 * var
                z = p["gamma"] * xh + p["beta"]
            else:
                z = p["gamma"] * (a - rm) / np.sqrt(rv + 1e-5) + p["beta"]
                if "eval_leak" in bug:
                    rm, rv = 0.9 * rm + 0.1 * a.mean(0), 0.9 * rv + 0.1 * a.var(0)
                if "eval_inplace" in bug:  # the very arrays read before are changed
                    rm *= 0.9
                    rm += 0.1 * a.mean(0)
            self.bn_param.update(running_mean=rm, running_var=rv)
        hdn = np.maximum(z, 0)
        m = None
        if self.keep and train:
            k = self.keep
            if "frozen" in bug and self.mask is not None and self.mask.shape == hdn.shape:
                m = self.mask
            elif "private" in bug:
                m = (self.rng.random(hdn.shape) < k) / k
            else:
                m = (np.random.rand(*hdn.shape) < k) / k
            self.mask = m
            hdn = hdn * m
        s = hdn @ p["W2"] + p["b2"]
        if not train:
            return s.argmax(1) if "labels" in bug else s
        y = np.asarray(y).ravel()
        sh = s - s.max(1, keepdims=True)
        lp = sh - np.log(np.exp(sh).sum(1, keepdims=True))
        N = 16 if "fixed_n" in bug else n
        prob = np.exp(lp)
        L = -lp[np.arange(n), y].sum() / N
        if "clip" in bug:
            L = -np.log(np.clip(prob[np.arange(n), y], 1e-7, 1)).sum() / N
        d = prob.copy()
        d[np.arange(n), y] -= 1
        d /= N
        g = {"W2": hdn.T @ d, "b2": d.sum(0)}
        dz = (d @ p["W2"].T) * (m if m is not None else 1) * (z > 0)
        da = dz
        if self.bn:
            g["gamma"], g["beta"] = (dz * xh).sum(0), dz.sum(0)
            dxh = dz * p["gamma"]
            da = (dxh - dxh.mean(0) - xh * (dxh * xh).mean(0)) / np.sqrt(var + 1e-5)
        g["W1"] = (X.T @ da).T if "outin" in bug else X.T @ da
        g["b1"] = da[1:].sum(0) if "db_skip" in bug else da.sum(0)
        for key in [k for k in p if self.reg and (k.startswith("W") or "l2_bias" in bug)]:
            L += 0.5 * self.reg * float((p[key] ** 2).sum())
            g[key] = g[key] + self.reg * p[key]
        return L, {k: v.astype(self.dt) for k, v in g.items()}


def _mini(bug="", *, bn=False, keep=None, dt="float64", reg=0.0, d=5, n=16, scale=1.0,
          masks=False, forward=True, ycol=False, swap=False, **kw):  # fmt: skip
    net = Mini(d=d, dt=dt, bn=bn, keep=keep, bug=bug, reg=reg)
    r = np.random.RandomState(3)
    X = (scale * r.randn(n, d)).astype(dt)
    Y = np.argmax(X[:, :3], 1)
    layers = f"{d} dense(8) {'batchnorm ' if bn else ''}relu {f'dropout({keep}) ' if keep else ''}"
    spec = f"{layers}dense(3) loss=cross_entropy opt=sgd(lr=0.1)"
    names = ["W1", "b1", *(["beta", "gamma"] if swap else ["gamma", "beta"])[: 2 * bn], "W2", "b2"]
    if bn:
        kw.setdefault("buffers", ["bn_param['running_mean']", "bn_param['running_var']"])
    if masks:
        kw["masks"] = [lambda: net.mask]
    if reg:
        kw["l2"] = reg
    kw.setdefault("convention", "cs231n")
    data = (X, Y.reshape(-1, 1) if ycol else Y)
    fwd = net.loss if forward else None
    return from_loss(net.params, net.loss, names=names, forward=fwd, spec=spec, owner=net,
                     data=data, **kw)  # fmt: skip


def _run(adapter, steps=3, **kw):
    X, y = adapter.data
    return check(adapter, X, y, steps=steps, **kw)


def _codes(r, kind="bug"):
    return [f.code for f in r.findings if f.kind == kind]


# -- A: bugs that used to match -----------------------------------------------------------


@pytest.mark.parametrize("bug", ["eval_leak", "eval_inplace"])
def test_running_statistics_moved_by_the_inference_pass_are_batchnorm_running(bug):
    assert _run(_mini(bn=True)).code == "match"
    r = _run(_mini(bug, bn=True))
    f = r.findings[0]
    assert (r.code, f.code) == ("implementation_bug", "batchnorm_running"), r.render()
    assert "inference" in f.evidence and "bn_param['running_mean']" in f.params


def test_running_statistics_started_from_the_first_batch_are_said_so():
    """Review s16a: ML-From-Scratch's BatchNormalization starts its running statistics from
    the first batch's (``if self.running_mean is None``): "fit no running average", with a fix
    asking for what the code does."""
    r = _run(_mini("first_batch", bn=True))
    f = r.findings[0]
    assert (r.code, f.code) == ("implementation_bug", "batchnorm_running"), r.render()
    assert "start from the first batch's statistics" in f.evidence, r.render()
    # the start the fix names is the declared convention's (review s23c F15: PyTorch's ones
    # under convention='cs231n', then "starts at 1" once followed)
    assert "running_var at zeros (CS231n's start, as declared)" in f.hint, f.hint
    torch = _run(_mini("first_batch", bn=True, convention="torch")).findings[0]
    assert "running_var at ones (PyTorch's)" in torch.hint, torch.hint


@pytest.mark.parametrize("masks", [True, False])
def test_a_dropout_mask_drawn_once_and_reused_is_dropout_mask(masks):
    assert _run(_mini(keep=0.8, masks=masks)).code == "match"
    r = _run(_mini("frozen", keep=0.8, masks=masks))
    f = r.findings[0]
    assert (r.code, f.code, f.step) == ("implementation_bug", "dropout_mask", 2), r.render()
    assert "reused" in f.evidence


def test_the_short_last_batch_is_compared_and_a_fixed_1_over_n_is_scale_factor():
    r = _run(_mini(keep=0.8, n=40, batch_size=16), steps=2)
    assert r.code == "match", r.render()
    assert "short_batch_compared" in _codes(r, "note") and r.steps == 3
    r = _run(_mini("fixed_n", keep=0.8, n=40, batch_size=16), steps=2)
    f = r.findings[0]
    assert (r.code, f.code, f.step) == ("implementation_bug", "scale_factor", 3), r.render()
    assert "divides by 16 where this batch has 8 rows" in f.evidence


# -- B: correct networks wrongly judged --------------------------------------------------------


def test_square_weights_stored_out_in_are_read_so_and_a_bug_there_is_still_caught():
    r = _run(_mini("outin", d=8, keep=0.8))
    assert r.code == "match", r.render()
    assert "layout_inferred" in _codes(r, "note")
    r = _run(_mini("outin", d=8, keep=0.8, layout="out_in"))
    assert r.code == "match" and "layout_inferred" not in _codes(r, "note")
    r = _run(_mini("outin,fixed_n", d=8, keep=0.8, n=8))  # x 1/2 in either reading
    assert r.code == "implementation_bug"


def test_masks_from_a_private_generator_are_refused_with_the_fix_not_a_bug():
    with pytest.raises(LearnerError, match="could not be recovered.*masks="):
        _run(_mini("private", keep=0.8))
    assert _run(_mini("private", keep=0.8, masks=True)).code == "match"


def _load(stem):
    spec = importlib.util.spec_from_file_location(f"rv_{stem}", EXAMPLES / f"{stem}.py")
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    return m


def test_cs231n_seed_in_dropout_param_is_replayed_and_a_wrong_one_declared_is_caught():
    m = _load("net_fc_bn_dropout_ok")
    model = m.FullyConnectedNet([8, 8], 5, 3, dropout_keep_ratio=0.75,
                                normalization="batchnorm", seed=123)  # fmt: skip
    r = _run(m.nnparity_adapter(model))
    assert r.code == "match", r.render()
    assert "dropout_seeded" in _codes(r, "note")
    model = m.FullyConnectedNet([8, 8], 5, 3, dropout_keep_ratio=0.75,
                                normalization="batchnorm", seed=123)  # fmt: skip
    with pytest.raises(LearnerError, match="not the declared dropout_seed=7's"):
        _run(m.nnparity_adapter(model, dropout_seed=7))  # refused: the declaration's


def test_batchnorm_at_a_batch_of_one_is_left_out_with_a_note_or_refused():
    r = _run(_mini(bn=True, n=17, batch_size=2), steps=9)
    assert r.code == "match", r.render()
    assert "batch_not_compared" in _codes(r, "note")
    with pytest.raises(LearnerError, match="one value per channel"):
        _run(_mini(bn=True, n=4, batch_size=1))


def test_a_buffer_path_that_cannot_be_read_after_the_pass_is_refused():
    a = _mini(bn=True, buffers=["bn_param['running_mean']", "bn_param['running_variance']"])
    with pytest.raises(LearnerError, match="running_variance.*cannot be read after"):
        _run(a)


def test_buffers_given_var_first_are_named_with_the_order():
    r = _run(_mini(bn=True, buffers=["bn_param['running_var']", "bn_param['running_mean']"]))
    f = r.findings[0]
    assert (r.code, f.code) == ("implementation_bug", "batchnorm_running"), r.render()
    assert "running_mean before running_var" in f.hint


def test_a_loss_clip_with_every_gradient_agreeing_is_a_note():
    r = _run(_mini("clip", scale=100.0))
    assert r.code == "match", r.render()
    assert "loss_value_mismatch" in _codes(r, "note")
    assert _run(_mini("fixed_n", scale=100.0, n=8)).code == "implementation_bug"


def test_class_labels_as_a_column_are_flattened():
    assert _run(_mini(ycol=True, keep=0.8)).code == "match"
    assert _run(_mini("fixed_n", ycol=True, keep=0.8, n=8)).code == "implementation_bug"


def test_a_spec_of_dense_layers_only_takes_the_dense_path():
    net = Mini()
    X = np.random.RandomState(3).randn(16, 5)
    Y = np.argmax(X[:, :3], 1)
    spec = "5 dense(8) relu dense(3) loss=cross_entropy opt=sgd(lr=0.1)"
    a = from_loss(net.params, net.loss, names=["W1", "b1", "W2", "b2"], spec=spec)
    assert check(a, X, Y, steps=3).code == "match"
    bad = Mini(bug="fixed_n")
    a = from_loss(bad.params, bad.loss, names=["W1", "b1", "W2", "b2"], spec=spec)
    assert check(a, X[:8], Y[:8], steps=3).code == "implementation_bug"


# -- C: misnamed or unclear ---------------------------------------------------------------


def test_l2_on_biases_is_regularization_mismatch_not_a_backward_variant():
    assert _run(_mini(reg=1e-3, keep=0.8)).code == "match"
    r = _run(_mini("l2_bias", reg=1e-3, keep=0.8))
    f = r.findings[0]
    assert (r.code, f.code) == ("implementation_bug", "regularization_mismatch"), r.render()
    assert "b" in f.evidence and "W only" in f.hint


def test_dropout_p_read_the_other_way_names_the_declaration():
    r = _run(_mini(keep=0.8, convention="torch"))
    f = r.findings[0]
    assert (r.code, f.code) == ("implementation_bug", "dropout_mask"), r.render()
    assert "p='keep'" in f.hint


def test_gamma_and_beta_swapped_in_names_are_names_swapped():
    r = _run(_mini(bn=True, swap=True))
    f = r.findings[0]
    assert (r.code, f.code) == ("implementation_bug", "names_swapped"), r.render()
    assert set(f.params) == {"gamma", "beta"}


def test_forward_returning_labels_is_refused_with_the_shapes():
    with pytest.raises(LearnerError, match=r"returns shape \(16,\).*\(16, 3\)"):
        _run(_mini("labels", bn=True))


def test_names_omitted_explain_the_numbering():
    net = Mini()
    spec = "5 dense(8) relu dropout(0.8) dense(3) loss=cross_entropy opt=sgd(lr=0.1)"
    with pytest.raises(LearnerError, match="W1, b1, W3, b3; give names="):
        check(from_loss(net.params, net.loss, spec=spec, p="keep"), np.zeros((4, 5)), [0] * 4)


def test_no_forward_says_the_inference_pass_was_not_compared():
    r = _run(_mini(bn=True, forward=False))
    assert r.code == "match" and "forward_not_compared" in _codes(r, "note")
    assert "forward_not_compared" not in _codes(_run(_mini(bn=True)), "note")


def test_names_in_an_order_that_does_not_fit_say_the_order_that_does():
    net = Mini(keep=0.8)
    spec = "5 dense(8) relu dropout(0.8) dense(3) loss=cross_entropy opt=sgd(lr=0.1)"
    a = from_loss(net.params, net.loss, names=["b1", "W1", "W2", "b2"], spec=spec, p="keep")
    with pytest.raises(LearnerError, match="fit the order W1, b1, W2, b2: list them so"):
        check(a, np.zeros((4, 5)), [0, 1, 2, 0])
    a = from_loss(net.params, net.loss, names=["W1", "b1", "W2", "b2"], spec=spec, p="keep")
    assert check(a, np.random.RandomState(0).randn(8, 5), [0, 1, 2, 0] * 2).code == "match"


def test_a_bias_bug_below_a_dropout_gets_no_mask_hint_when_its_weight_agrees():
    r = _run(_mini("db_skip", keep=0.8))
    f = r.findings[0]
    assert (r.code, f.code, f.params) == ("implementation_bug", "layer_mismatch", ("b1",))
    assert "dropout" not in f.evidence, f.evidence


def test_the_twin_line_speaks_of_dropout_p_only_with_dropout():
    assert "dropout p keeps" not in _run(_mini(bn=True)).spec
    assert "dropout p keeps" in _run(_mini(keep=0.8)).spec
