"""Review s5's findings on the dense check, each tested both ways: what a match cannot vouch
for is said with it (``CheckResult.unchecked``); an update whose factor differs by parameter is
named per parameter; a step that moved no named weight, a mean over the full batch on the short
last batch (N/B), and the squared error summed over the outputs (``sse``) are named."""

import catalogue as C
import numpy as np

from nnparity import check
from nnparity.reference.learner import CheckResult, from_gradients, from_step

DECL = dict(sizes=list(C.SIZES), activations="tanh,relu,sigmoid", loss="half_sse")


def _run(adapter, steps=3):
    X, y = C.data()
    return check(adapter, X, y, steps=steps, probe=False)


def test_gradients_without_a_step_match_and_say_the_update_was_not_compared():
    net = C.Net()
    r = _run(from_gradients(net.P, C.NAMES, net.grads, optimizer="sgd", lr=C.LR, **DECL))
    assert r.code == "match" and r.findings == (), r.render()
    assert [f.code for f in r.unchecked] == ["update_not_compared", "loop_not_run"]
    assert "not checked: your update" in r.render()
    # it covers what was shown: no forward and no loss here (review s36: "forward pass, loss
    # and gradients" was said of gradients alone)
    assert "the match covers your gradients;" in r.unchecked[0].evidence, r.render()
    fwd = from_gradients(net.P, C.NAMES, net.grads, optimizer="sgd", lr=C.LR, **DECL,
                         forward=net.forward)  # fmt: skip
    assert "covers your forward pass and gradients;" in _run(fwd).unchecked[0].evidence
    back = CheckResult.from_dict(r.as_dict())
    assert back.unchecked == r.unchecked


def test_gradients_with_their_step_say_only_the_loop_is_unchecked():
    net = C.Net()

    def step(X, y):
        for k, g in net.grads(X, y).items():
            net.P[k] = net.P[k] - C.LR * g

    a = from_gradients(net.P, C.NAMES, net.grads, step=step, optimizer="sgd", lr=C.LR, **DECL)
    r = _run(a)
    assert r.code == "match" and [f.code for f in r.unchecked] == ["loop_not_run"], r.render()


def _adam_step(net, scale):
    """The learner's Adam step, from_step style, its gradients times ``scale`` per name."""

    def step(X, y):
        g = {k: v * scale.get(k, 1.0) for k, v in net.grads(X, y).items()}
        net.t += 1
        for k, gk in g.items():
            m = net.m[k] = 0.9 * net.m.get(k, 0.0) + 0.1 * gk
            v = net.v[k] = 0.999 * net.v.get(k, 0.0) + 0.001 * gk * gk
            m, v = m / (1 - 0.9**net.t), v / (1 - 0.999**net.t)
            net.P[k] = net.P[k] - 0.01 * m / (np.sqrt(v) + 1e-8)

    return step


def test_adam_behind_a_step_says_a_constant_gradient_factor_cannot_be_seen():
    """The blind spot is real (a doubled dW1 takes nearly Adam's very steps: only eps tells them
    apart, on all 6 rows within round-off) and said with the match; on the data's halves,
    run once all agrees (sub_batch.py), the gradients are small enough beside eps to show it:
    named as its equivalent, eps / 2 on W1 alone."""
    net = C.Net()
    r = _run(from_step(net.P, C.NAMES, _adam_step(net, {}), optimizer="adam", lr=0.01, **DECL))
    assert r.code == "match", r.render()
    assert [f.code for f in r.unchecked] == ["gradient_scale_unseen", "loop_not_run"]
    net = C.Net()
    r = _run(from_step(net.P, C.NAMES, _adam_step(net, {"W1": 2.0}), optimizer="adam", lr=0.01,
                       **DECL))  # fmt: skip
    assert r.code == "implementation_bug" and r.findings[0].params == ("W1",), r.render()
    assert (
        "on batches of 3 rows" in r.findings[0].evidence and "eps = 5e-09" in r.findings[0].evidence
    )


def test_sgd_behind_a_step_sees_a_constant_gradient_factor():
    net = C.Net()
    r = _run(from_step(net.P, C.NAMES, net.step, optimizer="sgd", lr=C.LR, **DECL))
    assert r.code == "match" and [f.code for f in r.unchecked] == ["loop_not_run"], r.render()
    net = C.Net(bugs={"sum"})  # the output layer's dz times N: every gradient off
    r = _run(from_step(net.P, C.NAMES, net.step, optimizer="sgd", lr=C.LR, **DECL))
    assert r.code == "implementation_bug" and r.unchecked == (), r.render()


def test_an_update_that_adds_for_the_weights_only_is_a_sign_flip_on_the_weights():
    net = C.Net()

    def step(X, y):
        for k, g in net.grads(X, y).items():
            net.P[k] = net.P[k] + (1 if k[0] == "W" else -1) * C.LR * g

    a = from_gradients(net.P, C.NAMES, net.grads, step=step, optimizer="sgd", lr=C.LR, **DECL)
    r = _run(a)
    f = r.findings[0]
    assert (r.code, f.code, f.params) == ("implementation_bug", "sign_flip", ("W1", "W2", "W3"))
    assert "1 for b1" in f.evidence, r.render()


def test_a_step_that_moves_other_arrays_than_the_named_ones_is_named():
    """Review s5: a step that rebinds the dict (or applies momentum one step late) left every
    named weight unchanged, and the implied gradients of zero read as a gradient bug."""
    net = C.Net()
    named = dict(net.P)  # the adapter holds these; the step rebinds net.P to a new dict

    def rebinding(X, y):
        net.P = {k: v - C.LR * net.grads(X, y)[k] for k, v in net.P.items()}

    r = _run(from_step(named, C.NAMES, rebinding, optimizer="sgd", lr=C.LR, **DECL))
    f = r.findings[0]
    assert (r.code, f.code, f.step, len(r.findings)) == (
        "implementation_bug", "step_did_not_update", 1, 1), r.render()  # fmt: skip
    net = C.Net()
    r = _run(from_step(net.P, C.NAMES, net.step, optimizer="sgd", lr=C.LR, **DECL))
    assert r.code == "match" and not r.findings, r.render()


def test_a_mean_over_the_full_batch_size_on_the_short_last_batch_is_named():
    """Review s5: dividing by a fixed batch size (8) where the last batch has 4 rows gave
    c = 0.5 on that batch only, left unexplained; the factor is N/B (1 on the full batches)."""
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(20, 3)), (rng.random((20, 2)) > 0.5).astype(float)
    for fixed in (True, False):
        net = C.Net()

        def grads(X, y, net=net, fixed=fixed):
            scale = len(X) / 8 if fixed else 1.0
            return {k: v * scale for k, v in net.grads(X, y).items()}

        a = from_gradients(net.P, C.NAMES, grads, optimizer="sgd", lr=C.LR, batch_size=8, **DECL)
        r = check(a, X, y, steps=5, probe=False)
        if not fixed:
            assert r.code == "match", r.render()
            continue
        f = r.findings[0]
        assert (r.code, f.code, f.step) == ("implementation_bug", "scale_factor", 3), r.render()
        assert "N/B with B = 8" in f.evidence and "len(X)" in f.hint, r.render()


def test_the_squared_error_summed_over_outputs_and_averaged_is_declared_sse():
    """Review s5: np.mean(np.sum((out - y)**2, axis=1)), a common correct loss, could not be
    declared: half_sse read it as a factor 2. It is loss='sse'."""
    rng = np.random.default_rng(2)
    X, y = rng.normal(size=(6, 3)), rng.normal(size=(6, 2))
    for loss, code in (("sse", "match"), ("half_sse", "implementation_bug")):
        Q = {"W": rng.normal(size=(3, 2)), "b": np.zeros(2)}

        def grads(X, y, Q=Q):
            d = 2 * (X @ Q["W"] + Q["b"] - y) / len(X)
            return {"W": X.T @ d, "b": d.sum(0)}

        a = from_gradients(Q, ["W", "b"], grads, sizes=[3, 2], activations="identity",
                           loss=loss, optimizer="sgd", lr=0.1)  # fmt: skip
        r = check(a, X, y, steps=2, probe=False)
        assert r.code == code, r.render()
        if code != "match":
            assert r.findings[0].code == "scale_factor" and "(sse)" in r.findings[0].hint


def _adam_shared_state(shared: bool):
    """Adam with m and v updated in place; ``shared``: v = m, one array that both write."""
    net = C.Net()

    def step(X, y):
        g = net.grads(X, y)
        net.t += 1
        for k, gk in g.items():
            if k not in net.m:
                net.m[k] = np.zeros_like(gk)
                net.v[k] = net.m[k] if shared else np.zeros_like(gk)
            m, v = net.m[k], net.v[k]
            m *= 0.9
            m += 0.1 * gk
            v *= 0.999
            v += 0.001 * gk * gk
            mh, vh = m / (1 - 0.9**net.t), v / (1 - 0.999**net.t)
            net.P[k] = net.P[k] - 0.01 * mh / (np.sqrt(vh) + 1e-8)

    return _run(from_step(net.P, C.NAMES, step, optimizer="adam", lr=0.01, **DECL))


def test_adam_moments_sharing_one_array_are_a_bug_with_the_fix_not_an_instability():
    assert _adam_shared_state(shared=False).code == "match"
    r = _adam_shared_state(shared=True)
    assert r.code == "implementation_bug", r.render()
    f = r.findings[0]
    assert f.code == "nonfinite" and "square root of a negative number" in f.evidence
    assert "keep m and v separate arrays" in f.hint


def test_a_step_that_skips_the_first_layer_names_the_parameters_it_left():
    """Review s6 (deeplearning.ai's update_parameters looping range(1, L)): the update of W1 and
    b1 parted, with the rest, as 'no known sgd variant'."""
    net = C.Net()

    def step(X, y):
        for k, g in net.grads(X, y).items():
            if k not in ("W1", "b1"):
                net.P[k] = net.P[k] - C.LR * g

    r = _run(from_gradients(net.P, C.NAMES, net.grads, step=step, optimizer="sgd", lr=C.LR,
                            **DECL))  # fmt: skip
    f = r.findings[0]
    assert (f.code, f.params, f.step) == ("step_did_not_update", ("W1", "b1"), 1), r.render()


def test_a_step_that_hides_its_gradients_and_skips_a_bias_names_it():
    """Review s9c: from_step whose update loop leaves out the output bias: its implied
    gradient is 0, and it was 'unexplained: all zeros (never computed?)'."""
    net = C.Net()
    last = C.NAMES[-1]

    def step(X, y):
        for k, g in net.grads(X, y).items():
            if k != last:
                net.P[k] = net.P[k] - C.LR * g

    r = _run(from_step(net.P, C.NAMES, step, optimizer="sgd", lr=C.LR, **DECL))
    f = r.findings[0]
    assert (f.code, f.params, f.step) == ("step_did_not_update", (last,), 1), r.render()


def test_sgd_with_the_gradient_clipped_to_a_global_norm_says_so_beside_the_schedule():
    """Review s6: under plain SGD a global-norm clip is one multiplier per step, as a schedule
    is; the finding names the norm that fits."""
    net = C.Net()

    def step(X, y):
        g = net.grads(X, y)
        norm = np.sqrt(sum(float((v * v).sum()) for v in g.values()))
        for k, v in g.items():
            net.P[k] = net.P[k] - C.LR * v * min(1.0, 0.01 / norm)

    r = _run(from_step(net.P, C.NAMES, step, optimizer="sgd", lr=C.LR, **DECL), steps=4)
    f = r.findings[0]
    assert f.code == "lr_schedule" and "clipped to a global norm of 0.01" in f.evidence, r.render()
