"""The output folder: clear errors when it cannot be used, stale files of an earlier report
removed (and nothing else), the checkpoint removed once complete, and resume and restart
saying what they do with an existing checkpoint."""

from __future__ import annotations

import pytest
from report_helpers import raises, small_plan

from nnparity.reports.cli import main
from nnparity.reports.report import OutputError, make_report
from nnparity.reports.sweep import sweep

PLAN = small_plan(steps=1)
TASKS = [(str(s), m) for s in PLAN.specs for m in PLAN.modes]


def float32_plan(n: int = 3):
    specs = tuple(s for s in PLAN.specs if s.dtype == "float32")[:n]
    return PLAN.__class__(PLAN.name, specs, 1)


@pytest.mark.parametrize(("where", "message"), [("", "is a file"), ("sub/dir", "is a file")])
def test_out_that_is_or_lies_under_a_file_is_one_clear_error(tmp_path, capsys, where, message):
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    out = blocker / where if where else blocker
    code = main(["report", "--matrix", "quick", "--steps", "1", "--out", str(out)])
    assert code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and message in err and str(blocker) in err
    with pytest.raises(OutputError):
        make_report(float32_plan(), out, jobs=1, progress=False)


def test_a_rerun_removes_the_stale_files_it_owns_and_nothing_else(tmp_path):
    for name in ("records.parquet", "heatmap_float64.png", "notes.txt", "heatmap_x.png"):
        (tmp_path / name).write_text("old")
    rep = make_report(float32_plan(), tmp_path, jobs=1, progress=False)
    names = {p.name for p in tmp_path.iterdir()}
    assert {"notes.txt", "heatmap_x.png"} <= names  # not the report's: left alone
    assert "heatmap_float64.png" not in names  # no float64 configuration this time
    assert ("records.parquet" in names) == ("parquet" in rep.files)
    assert {p.name for p in rep.files.values()} | {"notes.txt", "heatmap_x.png"} == names


def test_the_checkpoint_is_removed_once_complete_and_kept_while_partial(tmp_path):
    plan = float32_plan(4)
    part = make_report(plan, tmp_path, jobs=1, progress=False, limit=3, runner=raises)
    assert part.finished == 3 and (tmp_path / "checkpoint.jsonl").exists()
    whole = make_report(plan, tmp_path, jobs=1, progress=False, resume=True, runner=raises)
    assert whole.finished == whole.configurations == 8
    assert not (tmp_path / "checkpoint.jsonl").exists()
    assert not (tmp_path / "checkpoint.jsonl.bak").exists()


def test_resume_says_how_many_match_and_warns_when_none_do(tmp_path):
    ckpt = tmp_path / "checkpoint.jsonl"
    notes: list[str] = []
    sweep(TASKS[:4], 1, ckpt, jobs=1, progress=False, runner=raises, log=notes.append)
    assert notes == []
    # the same matrix: says how many it keeps
    sweep(TASKS[:6], 1, ckpt, jobs=1, progress=False, resume=True, runner=raises,
          log=notes.append)  # fmt: skip
    assert notes == [
        f"resuming: 4 of the 6 configurations are finished in {ckpt}; running the other 2"
    ]  # noqa: E501
    assert not (tmp_path / "checkpoint.jsonl.bak").exists()
    # another matrix (here: other specs): none match, the old checkpoint is kept aside
    notes.clear()
    calls = []

    def counting(spec, mode, steps):
        calls.append(spec)
        return raises(spec, mode, steps)

    other = TASKS[10:13]
    sweep(other, 1, ckpt, jobs=1, progress=False, resume=True, runner=counting,
          log=notes.append)  # fmt: skip
    assert len(calls) == 3 and len(notes) == 1
    assert notes[0].startswith("warning: none of the 6 configurations in")
    assert (tmp_path / "checkpoint.jsonl.bak").read_text().count("\n") == 7
    # a partial match: dropped ones counted
    notes.clear()
    sweep([*other, *TASKS[:2]], 1, ckpt, jobs=1, progress=False, resume=True, runner=raises,
          log=notes.append)  # fmt: skip
    assert notes[0].startswith("resuming: 3 of the 5 configurations")


def test_a_fresh_run_over_an_unfinished_checkpoint_keeps_it_aside_and_warns(tmp_path, capsys):
    ckpt = tmp_path / "checkpoint.jsonl"
    sweep(TASKS[:5], 1, ckpt, jobs=1, progress=False, limit=2, runner=raises)
    old = ckpt.read_text()
    sweep(TASKS[:5], 1, ckpt, jobs=1, progress=False, runner=raises)
    err = capsys.readouterr().err
    assert "held an unfinished sweep (2 configurations)" in err and "--resume" in err
    assert (tmp_path / "checkpoint.jsonl.bak").read_text() == old


def test_resume_without_a_checkpoint_warns(tmp_path):
    notes: list[str] = []
    out = sweep(TASKS[:2], 1, tmp_path / "c.jsonl", jobs=1, progress=False, resume=True,
                runner=raises, log=notes.append)  # fmt: skip
    assert len(out) == 2 and notes[0].startswith("warning: nothing to resume")
