"""One failing configuration becomes an error row; the rest of the report is complete."""

from __future__ import annotations

from report_helpers import DIVERGES, PLANTED_SEED, dies, planted, raises, small_plan

from nnparity.reports import tables
from nnparity.reports.report import make_report
from nnparity.reports.sweep import run_config, sweep
from nnparity.scratch import Spec


def test_a_raising_configuration_becomes_an_error_row(tmp_path):
    plan = small_plan()
    plan = plan.__class__(plan.name, (*plan.specs[:12], Spec.parse(DIVERGES)), plan.steps)
    rep = make_report(plan, tmp_path, jobs=1, progress=False, runner=planted)
    f = rep.frame
    bad = f[f["status"] == "error"]
    assert set(bad["spec"].map(lambda s: Spec.parse(s).seed)) == {PLANTED_SEED}
    assert (bad["stage"] == "").all()
    assert bad["error"].str.contains("planted failure").all()
    # the rest is complete: every other configuration has all its records
    assert rep.finished == rep.configurations == len(plan.specs) * 2
    good = f[f["status"] != "error"]
    assert good["config"].nunique() == rep.configurations - bad["config"].nunique()
    assert (good.groupby("config")["step"].max() == plan.steps).all()
    # the diverging spec is a 'diverged' row, not a failure, and the tables still fill
    div = f[(f["status"] == "diverged") & (f["error"] != "")]
    assert len(div) == 2 and div["error"].str.contains("non-finite values on both sides").all()
    assert len(tables.errors(f)) == bad["config"].nunique() + 2
    assert not tables.activation_initializer(f, "grad", "float32").drop(columns="failed").empty
    md = rep.files["markdown"].read_text()
    assert "planted failure" in md and "non-finite values on both sides" in md
    assert "raised an error" in rep.summary and not rep.ok


def test_run_config_turns_an_exception_into_an_error_outcome(monkeypatch):
    import nnparity.reference.engine as engine

    def boom(*args, **kwargs):
        raise ValueError("the engine broke")

    monkeypatch.setattr(engine, "run_parity", boom)
    o = run_config("3-4-1 tanh,sigmoid loss=bce", "free", 2)
    assert (o.status, o.records, o.error) == ("error", (), "ValueError: the engine broke")


def test_a_runner_that_raises_in_a_worker_is_isolated(tmp_path):
    tasks = [(str(s), "free") for s in small_plan().specs[:6]]
    out = sweep(tasks, 1, tmp_path / "c.jsonl", jobs=2, progress=False, runner=raises)
    assert [o.key for o in out] == tasks
    err = [o for o in out if o.status == "error"]
    assert len(err) == 1 and "planted failure" in err[0].error


def test_a_dying_worker_becomes_an_error_row_and_the_sweep_goes_on(tmp_path):
    tasks = [(str(s), "free") for s in small_plan().specs[:8]]
    out = sweep(tasks, 1, tmp_path / "c.jsonl", jobs=2, progress=False, runner=dies)
    assert [o.key for o in out] == tasks
    status = {Spec.parse(o.spec).seed: o.status for o in out}
    assert status.pop(PLANTED_SEED) == "error"
    assert set(status.values()) == {"pass"}
    assert "worker process died" in next(o.error for o in out if o.status == "error")


def test_exit_code_2_when_configurations_raise_and_none_fails(tmp_path, monkeypatch, capsys):
    """'could not run' (2) is kept apart from 'parity failed' (1): a configuration that raised
    gave no verdict. It used to exit 1."""
    import functools

    from nnparity.reports import report
    from nnparity.reports.cli import main

    specs = [str(s) for s in small_plan().specs[:6]]
    assert any(Spec.parse(s).seed == PLANTED_SEED for s in specs)
    toml = tmp_path / "m.toml"
    toml.write_text("specs = [\n" + ",\n".join(f'  "{s}"' for s in specs) + "\n]\nsteps = 1\n")
    monkeypatch.setattr(report, "make_report", functools.partial(report.make_report, runner=raises))
    argv = ["report", "--matrix", str(toml), "--out", str(tmp_path / "o"), "--no-progress"]
    assert main([*argv, "--jobs", "1"]) == 2
    assert "some configurations gave no verdict" in capsys.readouterr().err


def test_exit_codes_of_a_report(tmp_path):
    from nnparity.reports.checkpoint import Outcome

    tasks = [(str(s), "free") for s in small_plan().specs[:3]]

    def runner(outcomes):
        return lambda spec, mode, steps: outcomes[tasks.index((spec, mode))]

    plan = small_plan().__class__("three", tuple(Spec.parse(s) for s, _ in tasks), 1, ("free",))

    def code(*statuses):
        outs = [Outcome(*t, st) for t, st in zip(tasks, statuses, strict=True)]
        return make_report(plan, tmp_path, jobs=1, progress=False, runner=runner(outs)).exit_code

    assert code("pass", "pass", "diverged") == 0
    assert code("pass", "fail", "pass") == 1
    assert code("error", "fail", "pass") == 1  # a failure found outweighs one not judged
    assert code("pass", "error", "pass") == 2


def test_could_not_run_is_exit_2(tmp_path, monkeypatch, capsys):
    """A bad --out, and running out of memory (it used to be a traceback with exit 1, the
    'parity failed' code)."""
    from nnparity.reports import report
    from nnparity.reports.cli import main

    afile = tmp_path / "afile"
    afile.write_text("")
    argv = ["report", "--matrix", "quick", "--steps", "1", "--no-progress", "--jobs", "1"]
    assert main([*argv, "--out", str(afile)]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err

    def no_memory(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(report, "make_report", no_memory)
    assert main([*argv, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "error: out of memory" in err and "--resume" in err and "Traceback" not in err
