"""The report's data files: configurations and records in tables of their own, typed on
load, Parquet and CSV alike; the CSV a quarter of the one-table form's size."""

from __future__ import annotations

import shutil
import warnings

import pandas as pd
import pytest

import nnparity.reports
from nnparity.reports.data import ReportDataError, has_parquet, load

INTS = ("config", "step", "numel", "mismatched")


def _csv_only(report, tmp_path):
    for name in ("configurations.csv", "records.csv", "tolerances.csv"):
        shutil.copy(report.out / name, tmp_path / name)
    return tmp_path


def test_configurations_have_a_row_each_and_records_only_their_id(report):
    c = pd.read_csv(report.files["configurations_csv"], keep_default_na=False)
    assert len(c) == report.configurations and list(c["config"]) == list(range(len(c)))
    assert {"spec", "mode", "status", "error", "activation", "dtype"} <= set(c.columns)
    r = pd.read_csv(report.files["csv"])
    assert "spec" not in r.columns and set(r["config"]) <= set(c["config"])
    assert len(r) == (report.frame["stage"] != "").sum()


def test_plain_pandas_reads_the_csv_typed_and_without_warnings(report):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = pd.read_csv(report.files["csv"])  # default reader, no dtype workaround
        c = pd.read_csv(report.files["configurations_csv"])
    for col in ("config", "step", "mismatched", "passed", "nonfinite", "by_oracle", "tolerance"):
        assert r[col].dtype == "int64", col
    assert r["max_rel"].dtype == "float64" and len(c) == report.configurations


def test_load_from_csv_is_typed_and_rebuilds_the_report_frame(report, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data = load(_csv_only(report, tmp_path))
    for col in INTS:
        assert data.records[col].dtype == "int64", col
    for col in ("passed", "nonfinite"):
        assert data.records[col].dtype == bool, col
    assert data.configurations["config"].dtype == "int64"
    assert (data.configurations["error"] == "").sum() > 0  # empty, not NaN
    assert set(data.records["judged_by"]) <= {"tolerance", "oracle"}
    # the CSV keeps 5 significant digits: the frame comes back to that precision
    pd.testing.assert_frame_equal(data.frame(), report.frame, check_exact=False, rtol=1e-4)


@pytest.mark.skipif(not has_parquet(), reason="pyarrow is not installed (pip install pyarrow)")
def test_load_from_parquet_is_exact(report):
    assert "parquet" in report.files and "configurations_parquet" in report.files
    data = nnparity.reports.load(report.out)
    pd.testing.assert_frame_equal(data.frame(), report.frame)  # full precision


def test_load_notices_a_changed_value(report, tmp_path):
    out = _csv_only(report, tmp_path)
    text = (out / "records.csv").read_text().split("\n")
    head = text[0].split(",")
    row = text[1].split(",")
    row[head.index("step")] = "9"
    (out / "records.csv").write_text("\n".join([text[0], ",".join(row), *text[2:]]))
    frame = load(out).frame()
    assert not frame.equals(report.frame) and frame["step"].max() == 9


def test_load_names_what_is_missing(tmp_path):
    with pytest.raises(ReportDataError, match="records.csv.*missing.*nnparity report"):
        load(tmp_path)


def test_the_csv_is_at_most_a_quarter_of_the_one_table_form(report, tmp_path):
    """The default matrix's configurations, each given the records of a configuration of the
    session's report in turn: the one-table form (the spec and its axes on every row, every
    column at 6 digits: what records.csv held before) against the three CSV files now."""
    from nnparity.reference.matrix import matrix
    from nnparity.reports.checkpoint import Outcome
    from nnparity.reports.data import write_tables
    from nnparity.reports.frame import join, to_tables

    data = load(report.out)
    ids = sorted(set(data.records["config"]))
    outcomes = [Outcome(str(s), m, "pass") for s in matrix("default") for m in ("free", "resync")]
    configurations, _ = to_tables(outcomes)
    parts = [
        data.records[data.records["config"] == ids[i % len(ids)]].assign(config=i)
        for i in range(len(outcomes))
    ]
    records = pd.concat(parts, ignore_index=True)
    one_table = join(configurations, records).to_csv(
        index=False, float_format="%.6g", lineterminator="\n"
    )
    files = write_tables(configurations, records, tmp_path)
    now = sum(files[k].stat().st_size for k in ("csv", "configurations_csv", "tolerances_csv"))
    assert now <= len(one_table.encode()) / 4, (now, len(one_table))
