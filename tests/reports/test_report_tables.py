"""The report's tables agree with the tidy data they come from."""

from __future__ import annotations

import shlex

import pandas as pd
import pytest

from nnparity.reports import tables
from nnparity.reports.cli import main
from nnparity.reports.frame import usable
from nnparity.scratch import Spec, activations, initializers


@pytest.mark.parametrize("stage", ["forward", "grad", "update"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_every_registered_activation_and_initializer_appears(report, stage, dtype):
    table = tables.activation_initializer(report.frame, stage, dtype)
    rows = {r.removesuffix(tables.OUTPUT_SUFFIX).split("(")[0] for r in table.index}
    cols = {c.split("(")[0] for c in table.columns if c != "failed"}
    assert set(activations.names()) <= rows
    assert set(initializers.names()) <= cols
    assert table.drop(columns="failed").notna().any(axis=None)


def test_activation_initializer_cell_is_the_max_of_its_records(report):
    f = usable(report.frame)
    table = tables.activation_initializer(report.frame, "grad", "float32")
    d = f[(f["dtype"] == "float32") & (f["stage"] == "grad")]
    for (act, init), want in d.groupby(["activation", "initializer"])["max_rel"].max().items():
        assert table.loc[act, init] == want


def test_worst_configurations_agree_with_the_data(report):
    """One row per spec, at its worst mode; the ranking and the values are the data's."""
    f = usable(report.frame)
    worst = tables.worst(report.frame, n=5)
    per_config = f.groupby(["spec", "mode"])["tol_used"].max()
    per_spec = f.groupby("spec")["tol_used"].max()
    assert worst["spec"].is_unique
    assert list(worst["of tolerance"]) == sorted(worst["of tolerance"], reverse=True)
    assert worst["of tolerance"].iloc[0] == per_spec.max()
    for spec, mode, used in zip(worst["spec"], worst["mode"], worst["of tolerance"], strict=True):
        assert per_config[(spec, mode)] == per_spec[spec] == used
    rest = per_spec[~per_spec.index.isin(worst["spec"])]
    assert rest.max() <= worst["of tolerance"].min()
    assert set(worst["judged_by"]) <= {"tolerance", "oracle"}
    above = worst[worst["of tolerance"] > 1]
    assert ((above["status"] == "fail") | (above["judged_by"] == "oracle")).all()
    growth = tables.loss_growth(report.frame)
    assert (worst["loss grew"] > 0).all() and growth.notna().any()


def test_exploded_trainings_are_named():
    """A finite training whose loss grows a million-fold is counted as exploded, in the
    summary table and the summary paragraph."""
    from nnparity.reports.frame import to_frame
    from nnparity.reports.matrix_file import Plan
    from nnparity.reports.report import summary
    from nnparity.reports.sweep import run_config

    spec = "2-3-1 identity,identity init=normal loss=mse opt=sgd(lr=1.0,momentum=0.9) seed=1"
    o = run_config(spec, "free", 8)
    frame = to_frame([o])
    assert o.status == "pass" and tables.loss_growth(frame).iloc[0] > tables.EXPLODED
    assert tables.summary(frame)["exploded"].sum() == 1
    assert "max_abs" not in tables.summary(frame).columns
    text = summary(frame, Plan("t", (Spec.parse(spec),), 8, ("free",)), 1, [o])
    assert "1 configuration exploded" in text


def test_worst_command_replays_with_nnparity_compare(report, capsys):
    cmd = tables.worst(report.frame, n=1)["command"].iloc[0]
    argv = shlex.split(cmd)
    assert argv[:2] == ["nnparity", "compare"]
    assert str(Spec.parse(argv[2])) in set(report.frame["spec"])
    assert main(argv[1:]) in (0, 1)
    assert "spec:" in capsys.readouterr().out


def test_summary_counts_every_configuration(report):
    s = tables.summary(report.frame)
    n = report.frame["config"].nunique()
    assert s["configurations"].sum() == n == report.configurations
    assert (s[["passed", "failed", "diverged", "raised"]].sum(axis=1) == s["configurations"]).all()


def test_growth_oracle_and_loss_optimizer_tables(report):
    f = report.frame
    g = tables.growth(f)
    assert {"float32 step 1", "float32 step 2", "float32 growth"} <= set(g.columns)
    ratio = g["float64 growth"].dropna()
    step1 = g.loc[ratio.index, "float64 step 1"]
    pd.testing.assert_series_equal(
        ratio, g.loc[ratio.index, "float64 step 2"] / step1, check_names=False
    )
    o = tables.oracle(f, "stage")
    assert {"forward", "grad", "update"} <= set(o.index)
    assert (o["scratch max"] > 0).all() and (o["PyTorch max"] > 0).all()
    assert ((o["median ratio"] > 0.1) & (o["median ratio"] < 10)).all()
    lo = tables.loss_optimizer(f, "float64")
    assert set(lo.index) == set(f.loc[f["dtype"] == "float64", "optimizer"])
    assert set(lo.columns) == set(f.loc[f["dtype"] == "float64", "loss"])


def test_layer_types_table_attributes_tensors_to_their_layer_type():
    """Each layer type's row is the worst fraction of allowance of its own arrays' records."""
    import pandas as pd

    from nnparity.reports import plots, tables

    spec = "1x4x4 conv(2,k=3) flatten dense(3) batchnorm relu dense(2) loss=mse"
    rows = [("grad", "W1", 0.5), ("grad", "W2", 0.1), ("buffers", "running_var3", 0.7),
            ("update", "b4", 0.2), ("forward", "output", 0.9)]  # fmt: skip
    frame = pd.DataFrame({
        "spec": spec, "status": "pass", "dtype": "float32", "framework": "torch",
        "stage": [r[0] for r in rows], "tensor": [r[1] for r in rows],
        "tol_used": [r[2] for r in rows],
    })  # fmt: skip
    grid = tables.layer_types(frame)
    assert grid["float32"].to_dict() == {"conv": 0.5, "dense": 0.2, "batchnorm": 0.7}
    assert plots.layer_heatmap(frame).startswith(b"\x89PNG")
