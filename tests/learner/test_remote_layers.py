"""Whole layered networks (``spec=``) through the privilege-separated ``nnparity check``: the
learner's file runs in its own process (``serve``), the layered check and its verdict in the
checker's (``remote_layered``). Every ``net_*`` example gives the verdict and finding of the
in-process path; buffers, masks (a layer's mask, its input and output, a path, a seed) and
NumPy's generator state (dropout replayed) are read in the learner's process; a file that
patches nnparity there changes no verdict; a failure of nnparity's own code there is a bug of
ours (exit 3), never the learner's exit."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from test_isolation import check, learner

from nnparity.reference.learner import remote
from nnparity.reference.learner.remote_layered import rng_state
from nnparity.reports.cli import main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "learners"
STEPS = ["--steps", "2"]
NETS = [
    "net_fc_bn_dropout_ok",
    "net_fc_bn_dropout_bug",
    "net_convnet_ok",
    "net_convnet_bug",
    "net_nnfs_dropout_ok",
    "net_nnfs_dropout_bug",
]


def _json(capsys, *args: str) -> tuple[int, dict]:
    rc = main(["check", *args, *STEPS, "--json"])
    return rc, json.loads(capsys.readouterr().out)


def _gist(out: dict) -> tuple:
    return out["code"], [(f["code"], f["layer"], f["step"], f["params"]) for f in out["findings"]]


@pytest.mark.parametrize("stem", NETS)
def test_every_example_gives_the_in_process_verdict_and_finding(stem, capsys):
    f = str(EXAMPLES / f"{stem}.py")
    rc, split = _json(capsys, f)
    rc_in, inside = _json(capsys, f, "--in-process")
    assert rc == rc_in == (0 if stem.endswith("_ok") else 1), (split, inside)
    assert _gist(split) == _gist(inside)
    assert [r["canonical"] for r in split["params"]] == [r["canonical"] for r in inside["params"]]
    rc = main(["check", f, *STEPS])
    text = capsys.readouterr().out.splitlines()
    assert rc == rc_in
    assert text[0] == f"code: {inside['code']}"
    if inside["findings"]:
        assert inside["findings"][0]["code"] in "\n".join(text)


def _copy(tmp_path: Path, stem: str, tail: str = "", head: str = "") -> Path:
    f = tmp_path / f"{stem}.py"
    f.write_text(head + (EXAMPLES / f"{stem}.py").read_text() + tail)
    return f


VIEW = """
class _View:  # the dropout layer's input and output only, no mask attribute
    def __init__(self, layer):
        self.layer = layer
    @property
    def inputs(self):
        return self.layer.inputs
    @property
    def output(self):
        return self.layer.output
def view_adapter():
    from nnparity.reference.learner import from_layers
    return from_layers([dense1, dense2], forward_backward, forward=predict,
        spec="4 dense(16) relu dropout(0.2) dense(3) loss=cross_entropy",
        masks=[{mask}], optimizer="sgd", lr=0.5, data=(X, Y){extra})
"""
SOURCES = {
    "inputs_output": ("_View(dropout1)", ""),
    "lambda": ("lambda: dropout1.binary_mask", ""),
    "path_below_owner": ("'binary_mask'", ", owner=dropout1"),
}


@pytest.mark.parametrize("source", SOURCES)
def test_mask_sources_are_read_in_the_learners_process(tmp_path, capsys, source):
    mask, extra = SOURCES[source]
    f = _copy(tmp_path, "net_nnfs_dropout_ok", VIEW.format(mask=mask, extra=extra))
    rc, out = _json(capsys, f"{f}:view_adapter")
    assert (rc, out["code"]) == (0, "match"), out
    f = _copy(tmp_path, "net_nnfs_dropout_bug", VIEW.format(mask=mask, extra=extra))
    rc, out = _json(capsys, f"{f}:view_adapter")
    assert (rc, out["code"], out["findings"][0]["code"]) == (
        1,
        "implementation_bug",
        "dropout_mask",
    )


def test_a_mask_source_without_a_mask_names_the_learners_class(tmp_path, capsys):
    f = _copy(tmp_path, "net_nnfs_dropout_ok", VIEW.format(mask="loss_activation", extra=""))
    rc, out = _json(capsys, f"{f}:view_adapter")
    assert rc == 2 and out["code"] is None, out
    assert (
        "the dropout layer Activation_Softmax_Loss_CategoricalCrossentropy has no binary_mask"
        in out["error"]
    )


SEEDED = """
def _seeded(self, inputs, training=True):  # CS231n's seeded dropout: seed, rand < keep
    self.inputs = inputs
    if not training:
        self.output = inputs.copy()
        return
    np.random.seed(5)
    self.binary_mask = (np.random.rand(*inputs.shape) < self.rate) / self.rate
    self.output = inputs * self.binary_mask
Layer_Dropout.forward = _seeded
def seeded_adapter(seed=5):
    from nnparity.reference.learner import from_layers
    return from_layers([dense1, dense2], forward_backward, forward=predict,
        spec="4 dense(16) relu dropout(0.2) dense(3) loss=cross_entropy", dropout_seed=seed,
        optimizer="sgd", lr=0.5, data=(X, Y))
def wrong_seed():
    return seeded_adapter(6)
"""


def test_a_declared_seed_crosses_and_a_wrong_one_is_no_match(tmp_path, capsys):
    f = _copy(tmp_path, "net_nnfs_dropout_ok", SEEDED)
    rc, out = _json(capsys, f"{f}:seeded_adapter")
    assert (rc, out["code"]) == (0, "match"), out
    rc = main(["check", f"{f}:wrong_seed", *STEPS, "--json"])  # refused: the declaration's
    assert rc == 2 and "not the declared dropout_seed=" in capsys.readouterr().err


REPLAY = """
def replay_adapter():  # no mask declared: replayed from the learner process's generator
    from nnparity.reference.learner import from_layers
    np.random.seed(11)
    return from_layers([dense1, dense2], forward_backward, forward=predict,
        spec="4 dense(16) relu dropout(0.2) dense(3) loss=cross_entropy",
        optimizer="sgd", lr=0.5, data=(X, Y))
"""


@pytest.mark.parametrize("stem", ["net_nnfs_dropout_ok", "net_nnfs_dropout_bug"])
def test_dropout_replayed_from_the_learner_process_generator(tmp_path, capsys, stem):
    """The checker's own generator is not the one the learner's pass draws from: a replay
    from it would part on correct code."""
    np.random.seed(12)  # the checker side's, in this process, differs from the learner's
    f = _copy(tmp_path, stem, REPLAY)
    rc, out = _json(capsys, f"{f}:replay_adapter")
    if stem.endswith("_ok"):
        assert (rc, out["code"]) == (0, "match"), out
        assert "dropout_replayed" in [x["code"] for x in out["findings"]]
    else:
        assert (rc, out["findings"][0]["code"]) == (1, "dropout_mask"), out


def _serve(tmp_path: Path, body: str) -> remote.Learner:
    f = tmp_path / "student.py"
    f.write_text(body)
    limits = {"faults": str(tmp_path / "faults"), "writable": [str(tmp_path)], "tmp": None}
    return remote.start(str(f), None, limits, list(sys.path), str(tmp_path))


def test_the_rng_request_gives_the_learner_process_state(tmp_path):
    learner = _serve(
        tmp_path,
        (EXAMPLES / "net_nnfs_dropout_ok.py").read_text() + "\nnp.random.seed(123)\n",
    )
    try:
        h, arrays = learner.ask(None)
        adapter, _, _ = remote.describe(learner, h, arrays)
        state = adapter.rng_state()
        want = np.random.RandomState(123).get_state()
        assert state[0] == "MT19937" and np.array_equal(state[1], want[1])
        assert state[2:] == want[2:]
        assert adapter.layered.masks and adapter.layered.owner is None
    finally:
        learner.stop()


class _Stub:
    def __init__(self, state):
        self.state = state

    def ask(self, header, arrays=None):
        from nnparity.reference.learner.wire import encode

        out: list = []
        return {"state": encode(self.state, out, None)}, out


@pytest.mark.parametrize(
    "bad",
    [
        ("PCG64", np.zeros(624, np.uint32), 0, 0, 0.0),
        ("MT19937", np.zeros(623, np.uint32), 0, 0, 0.0),
        ("MT19937", np.zeros(624, np.int64), 0, 0, 0.0),
        ("MT19937", np.ones(624, np.uint32), 625, 0, 0.0),
        ("MT19937", np.ones(624, np.uint32)),
        "a state",
    ],
)
def test_a_garbled_rng_state_is_unreadable(bad):
    with pytest.raises(remote.Unreadable):
        rng_state(_Stub(bad))
    good = np.random.RandomState(3).get_state()
    assert np.array_equal(rng_state(_Stub(good))[1], good[1])


PATCH = """
import nnparity.reference.learner.checker as checker
import nnparity.reference.learner.layered_check as layered_check
import nnparity.reference.learner.layered_judge as layered_judge
import nnparity.reference.learner.result as result
import nnparity.reference.learner.sandbox_outcome as so
result.CheckResult.passed = property(lambda self: True)
so.IsolatedOutcome.passes = lambda self, require_fit=False: True
so.IsolatedOutcome.exit_code = lambda self, require_fit=False: 0
layered_judge.diagnose = lambda *a, **k: []
_real = layered_check.check_layered
def _fake(adapter, X, y, **kw):
    r = _real(adapter, X, y, **kw)
    return result.CheckResult("match", (), r.table, (), r.spec, r.style, r.steps, r.training)
layered_check.check_layered = _fake
checker.check = lambda adapter, X=None, y=None, **kw: _fake(adapter, X, y, **kw)
"""


@pytest.mark.parametrize("stem", ["net_nnfs_dropout_bug", "net_convnet_bug"])
def test_patching_nnparity_in_the_learners_process_changes_no_verdict(tmp_path, capsys, stem):
    f = _copy(tmp_path, stem, head=PATCH)
    rc = main(["check", str(f), *STEPS])
    out, err = capsys.readouterr()
    assert rc == 1, (out, err)
    assert out.startswith("code: implementation_bug")


def test_a_patching_but_correct_layered_file_still_matches(tmp_path, capsys):
    f = _copy(tmp_path, "net_nnfs_dropout_ok", head=PATCH)
    assert main(["check", str(f), *STEPS]) == 0
    assert capsys.readouterr().out.startswith("code: match")


BROKEN = """
def broken_adapter():  # nnparity's own code fails in the learner's process (in describe)
    import nnparity.reference.learner.serve as serve
    serve._Server.layered = None
    return nnparity_adapter()
"""


def test_nnparitys_own_failure_in_the_learners_process_is_ours_never_the_learners_exit(
    tmp_path, capsys
):
    f = _copy(tmp_path, "net_nnfs_dropout_ok", BROKEN)
    rc = main(["check", f"{f}:broken_adapter", *STEPS])
    out, err = capsys.readouterr()
    assert rc == 3, (out, err)
    assert "bug in nnparity" in err and "'NoneType' object is not callable" in err
    assert "Traceback" in err and "serve.py" in err
    assert "ended the process" not in err and "os._exit" not in err


RAISING = """
class _Params(dict):  # the learner's own mapping, whose read raises (its bug)
    def __getitem__(self, key):
        raise RuntimeError("params are not ready")
def nnparity_adapter():
    a = make()
    a.root = _Params(a.root)
    return a
"""


def test_the_learners_error_while_its_adapter_is_read_is_its_own(tmp_path, capsys):
    """Raised in the learner's code that nnparity's description of the adapter reached: the
    learner's error with its line (exit 2), neither a bug of ours nor an exit."""
    rc = check(learner(tmp_path, RAISING))
    out, err = capsys.readouterr()
    assert rc == 2, (out, err)
    assert (
        "your code raised while nnparity read your adapter at student.py:5 (in __getitem__)" in err
    )
    assert "RuntimeError: params are not ready" in err
    assert "bug in nnparity" not in err and "ended the process" not in err


def test_against_jax_on_a_layered_network_says_not_run_both_ways(capsys):
    pytest.importorskip("jax")
    f = str(EXAMPLES / "net_convnet_ok.py")
    for extra in ([], ["--in-process"]):
        rc = main(["check", f, *STEPS, "--against", "jax", *extra])
        out, err = capsys.readouterr()
        assert rc == 0 and out.startswith("code: match"), (out, err)
        assert "not run: --against jax holds dense specs only" in out


LAMBDAS = """
def lambda_adapter():  # buffers as callables (None before the first pass: fresh)
    from nnparity.reference.learner import from_loss
    m = FullyConnectedNet([8, 8], 5, 3, dropout_keep_ratio=0.75, normalization="batchnorm")
    stat = lambda i, k: lambda: m.bn_params[i].get(k)
    return from_loss(m.params, m.loss, forward=m.loss, spec=SPEC, convention="cs231n",
        names=["W1", "b1", "gamma1", "beta1", "W2", "b2", "gamma2", "beta2", "W3", "b3"],
        buffers=[stat(i, k) for i in (0, 1) for k in ("running_mean", "running_var")],
        data=(X, Y))
"""


@pytest.mark.parametrize("stem", ["net_fc_bn_dropout_ok", "net_fc_bn_dropout_bug"])
def test_buffers_given_as_callables_are_read_in_the_learners_process(tmp_path, capsys, stem):
    f = _copy(tmp_path, stem, LAMBDAS)
    rc_in, inside = _json(capsys, f"{f}:lambda_adapter", "--in-process")
    rc, split = _json(capsys, f"{f}:lambda_adapter")
    assert rc == rc_in == (0 if stem.endswith("_ok") else 1), split
    assert _gist(split) == _gist(inside)
    assert any(r["stage"] == "buffers" for r in split["params"])


FORGED_DECL = """
import nnparity.reference.learner.serve as serve
_real = serve._Server.layered
def _forged(self, a, arrays):  # what layered_decl would have refused in this process
    d = _real(self, a, arrays)
    {change}
    return d
serve._Server.layered = _forged
"""


@pytest.mark.parametrize(
    "change",
    ['d["masks"] = d["masks"] * 2', 'd["plain"] = ["torch", False, False, "7", None, 0.0]'],
    ids=["two_mask_readers_for_one_dropout", "a_seed_as_text"],
)
def test_a_declaration_forged_in_the_learners_process_is_no_verdict(tmp_path, capsys, change):
    f = _copy(tmp_path, "net_nnfs_dropout_bug", head=FORGED_DECL.format(change=change))
    rc = main(["check", str(f), *STEPS])
    out, err = capsys.readouterr()
    assert rc == 2 and "code:" not in out, (out, err)
    assert "cannot read" in err and "bug in nnparity" not in err


CS231N_SEED = """
def seeded_model():  # the notebook's gradient-check net: dropout_param holds seed=123
    model = FullyConnectedNet([8, 8], 5, 3, dropout_keep_ratio=0.75,
                              normalization="batchnorm", seed=123)
    return nnparity_adapter(model)
"""


def test_a_cs231n_seed_in_dropout_param_is_found_in_the_learners_process(tmp_path, capsys):
    """The seed lives in the learner's model object: the checker gets it from the learner's
    process (it cannot walk the object), and the replay with it matches."""
    f = _copy(tmp_path, "net_fc_bn_dropout_ok", CS231N_SEED)
    rc, out = _json(capsys, f"{f}:seeded_model")
    assert (rc, out["code"]) == (0, "match"), out
    assert "dropout_seeded" in [x["code"] for x in out["findings"]]
