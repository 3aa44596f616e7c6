"""Issue 9's repros for the judgement itself: each failed (a false pass, a false alarm or a
traceback) on the code before the fix."""

from __future__ import annotations

import math

import pytest

from nnparity.reference.engine import run_parity
from nnparity.reference.tolerance import tolerance_for
from nnparity.reports.cli import main
from nnparity.scratch import Optimizer, Spec, SpecError, build

SIGN_SPEC = "3-4-1 tanh,sigmoid loss=bce opt=sgd(lr=0.1)"


def _ascent(spec):
    net = build(spec)
    flip = Optimizer(
        net.opt.init, lambda g, s, p: net.opt.update({k: -v for k, v in g.items()}, s, p)
    )
    return net._replace(opt=flip)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -1e-6])
def test_tolerances_must_be_finite_and_non_negative(bad):
    spec = Spec.parse(SIGN_SPEC)
    for rtol, atol in ((bad, 1e-6), (1e-6, bad), (bad, bad)):
        with pytest.raises(SpecError, match="finite number >= 0"):
            tolerance_for("float64", 1, "free", rtol, atol)
        with pytest.raises(SpecError, match="finite number >= 0"):
            run_parity(spec, 3, net=_ascent(spec), rtol=rtol, atol=atol)


def test_nan_tolerances_on_the_command_line_exit_2(capsys):
    code = main(["compare", SIGN_SPEC, "--rtol", "nan", "--atol", "nan"])
    err = capsys.readouterr().err
    assert code == 2
    assert "rtol must be a finite number >= 0" in err
