"""Two answers, always both: ``code`` (is the code right?) and ``training`` (does this model
learn this task?). The exit code and ``assert_learner_matches`` follow the code verdict;
``require_fit`` also demands the fit. The probe judges class targets by accuracy."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nnparity.reference.learner import CheckResult, assert_learner_matches
from nnparity.reference.learner.criteria import criterion
from nnparity.reference.learner.loader import load
from nnparity.reference.learner.probe_run import probe_budget
from nnparity.reports.cli import main
from nnparity.scratch import Spec


def test_correct_nielsen_network_on_one_hot_targets_matches_and_fits(run_example):
    """The issue's repro: sigmoid, quadratic cost, one-hot targets, SGD; every sample is
    classified though R^2 stays below 0.95 for 1000 steps (was model_limitation, exit 1)."""
    r = run_example("nielsen_onehot.py", steps=10)
    assert r.code == "match" and r.training.outcome == "fits", r.render()
    assert r.training.criterion.startswith("accuracy: the argmax of each output row")
    assert r.training.reached.startswith("8/8 classified after")
    assert r.render().splitlines()[1].startswith("training: fits: 8/8 classified after")


def test_exit_code_follows_the_code_verdict_require_fit_demands_the_fit(examples, capsys):
    seed3 = str(examples / "seed003_two_neurons.py")
    assert main(["check", seed3, "--steps", "3"]) == 0  # right code, a model that cannot fit
    out = capsys.readouterr().out.splitlines()
    assert out[:2] == [
        "code: match",
        out[1],
    ] and out[1].startswith("training: model_limitation (no_bias, capacity)")
    assert main(["check", seed3, "--steps", "3", "--require-fit"]) == 1
    capsys.readouterr()
    nielsen = str(examples / "nielsen_onehot.py")
    assert main(["check", nielsen, "--steps", "3", "--require-fit"]) == 0


def test_no_training_probe_leaves_training_not_assessed(examples, capsys):
    target = str(examples / "nielsen_onehot.py")
    assert main(["check", target, "--steps", "3", "--no-training-probe", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["code"] == "match"
    assert out["training"]["outcome"] == "not_assessed" and out["training"]["codes"] == []
    assert main(["check", target, "--no-training-probe", "--require-fit"]) == 2
    assert "--require-fit needs the training probe" in capsys.readouterr().err


def test_json_carries_both_answers_and_reads_back(run_example):
    r = run_example("seed003_two_neurons.py", steps=3)
    d = json.loads(json.dumps(r.as_dict()))
    assert d["code"] == "match"
    assert d["training"]["outcome"] == "model_limitation"
    assert d["training"]["codes"] == ["no_bias", "capacity"]
    assert d["training"]["criterion"].startswith("accuracy") and d["training"]["reached"]
    back = CheckResult.from_dict(d)
    assert back.as_dict() == d
    assert back.render() == r.render()


def test_assert_learner_matches_passes_right_code_and_require_fit_fails_it(examples):
    adapter, X, y = load(str(examples / "seed003_two_neurons.py"))
    assert assert_learner_matches(adapter, X, y, steps=3).code == "match"
    adapter, X, y = load(str(examples / "seed003_two_neurons.py"))
    with pytest.raises(AssertionError, match="training outcome is 'model_limitation'"):
        assert_learner_matches(adapter, X, y, steps=3, require_fit=True)


def _spec(text):
    return Spec.parse(text)


@pytest.mark.parametrize(
    "spec, y, good, bad, reached",
    [
        # one-hot rows under a sigmoid + quadratic cost: the argmax of each row
        (
            "2-3 sigmoid loss=half_sse",
            np.eye(3)[[0, 2]],
            np.array([[0.4, 0.3, 0.3], [0.3, 0.3, 0.35]]),
            np.array([[0.3, 0.4, 0.3], [0.3, 0.3, 0.35]]),
            "1/2 classified",
        ),
        # integer labels under cross-entropy: the argmax of the logits
        (
            "2-3 identity loss=cross_entropy",
            np.array([1, 0]),
            np.array([[0.0, 2.0, 1.0], [5.0, 0.0, 0.0]]),
            np.array([[3.0, 2.0, 1.0], [5.0, 0.0, 0.0]]),
            "1/2 classified",
        ),
        # 0/1 targets with a sigmoid output: the side of 0.5 (exactly 0.5 answers nothing)
        (
            "2-1 sigmoid loss=mse",
            np.array([[0.0], [1.0]]),
            np.array([[0.45], [0.55]]),
            np.array([[0.5], [0.55]]),
            "1/2 classified",
        ),
        # 0/1 targets under an identity output and mse (Adaline): classes, the side of 0.5
        (
            "2-1 identity loss=mse",
            np.array([[0.0], [1.0]]),
            np.array([[0.3], [0.7]]),
            np.array([[0.6], [0.7]]),
            "1/2 classified",
        ),
        # -1/+1 targets under tanh: the side of 0
        (
            "2-1 tanh loss=mse",
            np.array([[-1.0], [1.0]]),
            np.array([[-0.2], [0.1]]),
            np.array([[0.2], [0.1]]),
            "1/2 classified",
        ),
        # soft one-hot rows (Rashid's 0.01/0.99, review s50 F2): the argmax, not R^2
        (
            "2-3 sigmoid loss=mse",
            np.array([[0.99, 0.01, 0.01], [0.01, 0.01, 0.99]]),
            np.array([[0.6, 0.3, 0.3], [0.2, 0.3, 0.4]]),
            np.array([[0.6, 0.3, 0.3], [0.2, 0.5, 0.4]]),
            "1/2 classified",
        ),
        # one output at 0.1/0.9 (LeCun's targets): the side of the midpoint 0.5
        (
            "2-1 sigmoid loss=mse",
            np.array([[0.1], [0.9]]),
            np.array([[0.45], [0.52]]),
            np.array([[0.45], [0.48]]),
            "1/2 classified",
        ),
        # two levels not symmetric about 0.5 or 0 are a regression (review s53 F4): R^2
        (
            "2-1 identity loss=mse",
            np.array([[0.3], [0.6]]),
            np.array([[0.31], [0.59]]),
            np.array([[0.44], [0.46]]),
            "R^2 = 0.129",
        ),
        # two levels beyond [-1, 1] are real values: R^2
        (
            "2-1 identity loss=mse",
            np.array([[2.0], [5.0]]),
            np.array([[2.1], [4.9]]),
            np.array([[3.0], [4.0]]),
            "R^2 = 0.556",
        ),
        # real targets: R^2 >= 0.95
        (
            "2-1 identity loss=mse",
            np.array([[0.0], [1.0], [2.0]]),
            np.array([[0.0], [1.1], [2.0]]),
            np.array([[0.5], [1.0], [1.5]]),
            "R^2 = 0.750",
        ),
    ],
)
def test_fit_criterion_by_target_kind(spec, y, good, bad, reached):
    c = criterion(_spec(spec), y)
    assert c.fits(good) and not c.fits(bad)
    assert c.score(bad) == reached


def test_one_row_of_soft_targets_is_regressed_onto_them():
    """Mazur's worked example: one sample at 0.01/0.99, its argmax right before training
    (review s53 F4): judged by R^2 (SST = 0 at each output: the relative loss)."""
    c = criterion(_spec("2-2 sigmoid loss=mse"), np.array([[0.01, 0.99]]))
    assert not c.fits(np.array([[0.3, 0.7]])) and c.fits(np.array([[0.01, 0.98]]))


def test_several_regression_outputs_are_each_held_to_r2():
    """Review s22b, finding 1: one R^2 pooled over outputs of different scales is the largest
    output's alone; 5 (x0 + x1) beside x0 x1 pooled 0.993 where the second output was not fit
    at all (a linear network: 'fits'). Review s23b F3: the mean of the outputs' R^2 let 23
    easy outputs carry one not learned (0.965 over a lowest of 0.155). Every output's R^2 is
    held to 0.95, as it would be alone."""
    r = np.random.RandomState(0)
    X = r.randn(200, 2)
    y = np.c_[5 * (X[:, 0] + X[:, 1]), X[:, 0] * X[:, 1]]
    c = criterion(_spec("2-2 identity loss=mse"), y)
    linear = np.c_[y[:, 0], np.full(200, y[:, 1].mean())]  # output 0 exact, output 1 its mean
    assert 1 - ((linear - y) ** 2).sum() / ((y - y.mean(0)) ** 2).sum() > 0.95  # pooled: "fit"
    assert not c.fits(linear)
    assert c.score(linear) == "R^2 = 0.000 at the lowest of 2 outputs (output 1; their mean 0.500)"
    many = np.c_[np.tile(y[:, :1], 23) * np.arange(1, 24), y[:, 1]]  # 23 easy outputs, 1 not
    fit = np.c_[many[:, :23], np.full(200, y[:, 1].mean() + 0.4 * y[:, 1].std())]
    cm = criterion(_spec("2-24 identity loss=mse"), many)
    assert np.mean(1 - ((fit - many) ** 2).sum(0) / ((many - many.mean(0)) ** 2).sum(0)) > 0.95
    assert not cm.fits(fit) and cm.value(fit) < 0.5
    close = y + 0.05 * r.randn(200, 2) * y.std(0)  # each output to R^2 ~ 0.9975
    assert c.fits(close) and c.value(close) > 0.99
    const = np.c_[y[:, 0], np.full(200, 2.0)]  # a constant output: 1 - SSE / sum y^2
    cc = criterion(_spec("2-2 identity loss=mse"), const)
    assert cc.fits(const) and not cc.fits(np.c_[y[:, 0], np.full(200, 1.0)])


def test_probe_budget_scales_with_the_number_of_batches():
    assert probe_budget(1) == 1000
    assert probe_budget(8) == 2000  # 250 passes over 8 mini-batches
    assert probe_budget(1000) == 10000
