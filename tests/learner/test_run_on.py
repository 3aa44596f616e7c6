"""The declared run continued (``run_on``): its schedule runs on where ``done`` steps left it
(review s46 F3: "run on for N more steps" restarted it), and a schedule that took the lr to
~0 is said as the cause rather than the optimizer."""

from __future__ import annotations

import pytest

from nnparity.reference.learner.run_on import continued, stopped
from nnparity.scratch import Spec
from nnparity.scratch.schedules import lr_at, of


def _spec(opt: str) -> Spec:
    return Spec.parse(f"2-4-1 tanh,sigmoid loss=bce opt={opt}")


@pytest.mark.parametrize(
    "opt",
    [
        "sgd(lr=0.5,lr_decay=0.1)",
        "sgd(lr=0.5,lr_gamma=0.9)",
        "adam(lr=0.1,lr_decay=0.2,lr_gamma=0.8,lr_step_size=1)",
    ],
)
def test_the_continued_schedule_takes_the_declared_ones_lrs_from_there(opt):
    spec, done = _spec(opt), 7
    on = continued(spec, done)
    lr0, lr1 = float(spec.opt.kwargs["lr"]), float(on.opt.kwargs["lr"])
    for n in range(6):
        want = lr_at(lr0, of(spec.opt.kwargs), done + n)
        assert lr_at(lr1, of(on.opt.kwargs), n) == pytest.approx(want, rel=1e-12)


def test_without_a_schedule_the_spec_is_itself_and_nothing_stopped_it():
    spec = _spec("sgd(lr=0.5)")
    assert continued(spec, 100) is spec and stopped(spec, 100) is None


def test_a_schedule_that_took_the_lr_to_nothing_is_said():
    assert stopped(_spec("sgd(lr=2.0,lr_gamma=0.5,lr_step_size=5)"), 1000) is not None
    assert stopped(_spec("sgd(lr=2.0,lr_gamma=0.99,lr_step_size=50)"), 1000) is None
