"""A configuration non-finite on one side only: a failed row naming where, and a complete
report (tables, plots and summary cope with its infinite differences)."""

from __future__ import annotations

import contextlib
import functools
import io

import pytest
from report_helpers import DIVERGES, ONE_SIDE, one_side, small_plan

from nnparity.reports import plots, report, tables
from nnparity.reports.cli import main
from nnparity.reports.data import load
from nnparity.reports.frame import to_frame
from nnparity.reports.sweep import outcome
from nnparity.scratch import Spec

MESSAGE = (
    "non-finite values on one side only at step 2 / grad / W1 (free mode): scratch 0.0, PyTorch nan"  # noqa: E501
)


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """``nnparity report`` over a few specs, ONE_SIDE and DIVERGES; its exit code, output
    folder and standard output."""
    tmp = tmp_path_factory.mktemp("one_side")
    specs = [*small_plan().specs[:4], *small_plan().specs[-2:], ONE_SIDE, DIVERGES]
    toml = tmp / "m.toml"
    toml.write_text("specs = [\n" + ",\n".join(f'  "{s}"' for s in specs) + "\n]\nsteps = 3\n")
    out = tmp / "out"
    mp = pytest.MonkeyPatch()
    mp.setattr(report, "make_report", functools.partial(report.make_report, runner=one_side))
    buf = io.StringIO()
    try:
        with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(io.StringIO()):
            code = main(["report", "--matrix", str(toml), "--out", str(out), "--jobs", "1"])
    finally:
        mp.undo()
    return code, out, buf.getvalue()


def test_the_report_is_complete_and_the_exit_code_is_1(planted):
    code, out, stdout = planted
    assert code == 1
    for name in ("report.md", "report.html", "records.csv"):
        assert (out / name).stat().st_size > 0, name
    for name in ("heatmap_float32.png", "heatmap_float64.png", "divergence_vs_step.png"):
        assert (out / name).read_bytes().startswith(b"\x89PNG"), name
    assert "Report: " in stdout


def test_the_configuration_is_a_failed_row_naming_where_it_failed(planted):
    _, out, stdout = planted
    df = load(out).frame()
    mine = df[df["spec"] == str(Spec.parse(ONE_SIDE))]
    assert set(mine["status"]) == {"fail"}
    messages = set(mine["error"]) - {""}
    assert MESSAGE in messages  # the failed record, not the earlier one non-finite on both
    rows = mine[mine["error"] != ""]
    assert not rows["passed"].any() and rows["nonfinite"].all()
    assert df["passed"].dtype == df["nonfinite"].dtype == bool
    md = (out / "report.md").read_text()
    assert MESSAGE in md
    where = "free mode, at step 2 / grad / W1: scratch 0.0, PyTorch nan"
    assert where in " ".join(md.split())  # the summary names it too


def test_tables_show_inf_and_the_summary_does_not_lead_with_it(planted):
    _, out, stdout = planted
    md = (out / "report.md").read_text()
    worst = md.split("## Worst configurations")[1].split("##")[0]
    first_row = worst.split("|---|")[-1].splitlines()[1]
    assert str(Spec.parse(ONE_SIDE)) in first_row and "| inf |" in first_row
    text = " ".join(md.split("## Details")[1].split("##")[0].split())  # the summary paragraph
    assert "at worst inf" not in text and "inf relative" not in text
    assert "went non-finite on one side only" in text
    assert "float32: at worst " in text  # a finite fraction of tolerance leads


def test_message_prefers_the_failed_record():
    """Both sides non-finite first (passes), then one side only (fails): the second names it;
    without the failure, the first is named and the configuration 'diverged'."""
    o = one_side(str(Spec.parse(ONE_SIDE)), "free", 2)
    assert o.status == "fail" and o.error == MESSAGE
    from nnparity.reference.compare import Record

    recs = [
        Record("s", "free", 1, "forward", "out", (1,), "float32", 0.0, 0.0, (0,), 1.0, 1.0,
               0, 1, 1e-6, 1e-5, True, True),
    ]  # fmt: skip
    both = outcome("s", "free", recs)
    assert both.status == "diverged" and "on both sides from step 1 / forward / out" in both.error


def test_heatmap_copes_with_inf_and_a_config_that_has_no_numbers():
    """One cell inf (one side only), one whose only configuration raised: a PNG, no error."""
    from nnparity.reports.checkpoint import Outcome

    a = one_side(str(Spec.parse(ONE_SIDE)), "free", 2)
    raised = Outcome(
        str(Spec.parse(ONE_SIDE.replace("relu,", "tanh,"))), "free", "error", (), "boom"
    )
    other = Outcome(str(Spec.parse(ONE_SIDE + " init=zeros")), "free", "error", (), "boom")
    frame = to_frame([a, raised, other])
    assert tables.activation_initializer(frame, "grad", "float32").max(axis=None) == float("inf")
    cover = tables.coverage(frame, "float32")
    assert cover.loc["relu", "torch_default"] == "numbers"
    assert cover.loc["tanh", "torch_default"] == cover.loc["relu", "zeros"] == "raised"
    assert cover.loc["tanh", "zeros"] == "none"
    assert plots.heatmap(frame, "float32").startswith(b"\x89PNG")
    assert plots.divergence_vs_step(frame).startswith(b"\x89PNG")
