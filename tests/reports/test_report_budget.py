"""A sweep that cannot fit in memory, or in the step and time limits, is refused up front with
the limit named (exit 2), before any configuration runs."""

from __future__ import annotations

import pytest
from report_helpers import small_plan

from nnparity.reference.engine import run_parity
from nnparity.reports import budget
from nnparity.reports.budget import ResourceError, check, estimate, rows_per_step
from nnparity.reports.cli import main
from nnparity.reports.matrix_file import Plan, resolve
from nnparity.reports.report import make_report
from nnparity.scratch import Spec

GB = 1e9
SMALL = "4-6-5-3 tanh,tanh,identity loss=mse opt=adam(lr=0.01) dtype=float32"


def never(spec: str, mode: str, steps: int):  # pragma: no cover - must not be called
    raise AssertionError(f"a refused sweep ran {spec!r}")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("steps = 100000000000000000\n", "100,000,000,000,000,000 steps per configuration is "
         "above the limit of 10,000; choose fewer, or pass --allow-long"),
        ("batch = 100000000000\n", "needs about 72 TB of memory, more than the"),
        ("sizes = [100000, 100000]\n", "choose a smaller batch or smaller layer sizes"),
    ],
)  # fmt: skip
def test_a_matrix_file_too_big_is_refused_before_anything_runs(tmp_path, capsys, text, message):
    """The repro: a matrix file with steps = 100000000000000000 ran without end."""
    toml = tmp_path / "m.toml"
    toml.write_text('activations = ["relu"]\ninitializers = ["zeros"]\n' + text)
    out = tmp_path / "out"
    assert main(["report", "--matrix", str(toml), "--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not out.exists()  # refused before the folder, the lock or any worker
    plan = resolve(str(toml))
    with pytest.raises(ResourceError, match="memory|limit"):
        make_report(plan, out, jobs=1, progress=False, runner=never)


def test_steps_on_the_command_line_are_held_to_the_limit(tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["report", "--matrix", "quick", "--out", str(out), "--no-progress"]
    assert main([*argv, "--steps", "10001"]) == 2
    assert "10,001 steps per configuration is above the limit of 10,000" in capsys.readouterr().err
    assert not out.exists()
    plan = Plan("one", (Spec.parse(SMALL),), 10_001)
    with pytest.raises(ResourceError, match="above the limit of 10,000"):
        make_report(plan, out, jobs=1, progress=False, runner=never)
    est = check(plan.specs, 2, 10_001, 1, allow_long=True, memory=8 * GB)  # really meant
    assert est.rows == 2 * 10_001 * rows_per_step(plan.specs[0])


def test_memory_limits_name_what_does_not_fit():
    big_batch = [Spec.parse(SMALL + " batch=30000000")]  # 30e6 x 18 units x 40 B = 21.6 GB
    with pytest.raises(ResourceError, match=r"needs about 22 GB of memory, more than the 8 GB"):
        check(big_batch, 2, 5, 1, memory=8 * GB)
    check(big_batch, 2, 5, 1, memory=32 * GB)  # fits a bigger machine
    quick = resolve("quick").specs  # 68 configurations x 9,000 steps: about 14 million rows
    with pytest.raises(ResourceError, match=rf"record rows \({2 * len(quick)} configurations x 9,"):
        check(quick, 2, 9_000, 1, memory=8 * GB)
    with pytest.raises(ResourceError, match="choose fewer --jobs"):
        check(quick, 2, 5, 64, memory=8 * GB)  # 60 workers of 400 MB
    with pytest.raises(ResourceError):  # allow_long lifts step and time limits, never memory
        check(quick, 2, 9_000, 1, allow_long=True, memory=8 * GB)


def test_the_time_limit_and_allow_long():
    spec = [Spec.parse(SMALL + " batch=3000000")]  # about 11 s a step, x 10,000 steps x 2
    with pytest.raises(ResourceError, match=r"would take about \d+ h with 1 worker .* above "
                       "the limit of 24 hours"):  # fmt: skip
        check(spec, 2, 10_000, 1, memory=32 * GB)
    assert check(spec, 2, 10_000, 1, allow_long=True, memory=32 * GB).seconds > 24 * 3600


def test_the_default_and_full_matrices_are_not_refused_on_a_32_gb_machine():
    for name in ("default", "full"):
        est = check(resolve(name).specs, 2, 5, 2, memory=32 * GB)
        assert est.worker_bytes < 1 * GB
    assert estimate(resolve("default").specs, 2, 5).text().startswith("about ")


@pytest.mark.parametrize(
    "opt", ["sgd(lr=0.1)", "sgd(lr=0.1,momentum=0.9)", "adam(lr=0.01,amsgrad=true)", "rmsprop",
            "adagrad", "adamw"],
)  # fmt: skip
@pytest.mark.parametrize("bias", [True, False])
def test_rows_per_step_bounds_the_engine_s_records(opt, bias):
    spec = Spec.parse(f"3-4-2 tanh,identity opt={opt}").replace(bias=bias)
    real = len(run_parity(spec, 1, "resync").records)
    assert real <= rows_per_step(spec) <= real + 1


def test_the_estimate_grows_with_each_size():
    base = Spec.parse(SMALL)
    t, m = budget.config_seconds(base, 5), budget.config_bytes(base)
    for bigger in (base.replace(batch=10_000), base.replace(sizes=(40, 60, 50, 3))):
        assert budget.config_seconds(bigger, 5) > t and budget.config_bytes(bigger) > m
    assert budget.config_seconds(base, 10) == pytest.approx(2 * t)


def test_sizes_and_durations_read_well():
    assert budget.size(72e12) == "72 TB" and budget.size(21.6e9) == "21.6 GB"
    assert budget.size(400e6) == "400 MB" and budget.size(12) == "12 B"
    assert budget.duration(24.2) == "24 s" and budget.duration(3600 * 31) == "31 h"
    assert budget.duration(86400 * 40) == "40 days"


def test_a_small_report_still_runs(tmp_path):
    plan = small_plan()
    plan = Plan("few", plan.specs[:2], 1)
    rep = make_report(plan, tmp_path, jobs=1, progress=False)
    assert rep.finished == 4 and rep.exit_code == 0
