"""The report's data files, and ``load(out_dir)``, which reads them back typed.

Two tables (``frame.to_tables``): ``configurations`` (one row per spec x mode: ``config`` id,
spec, mode, the spec's axes, status, error message) and ``records`` (one row per
configuration x step x stage x tensor, keyed by ``config``). Each is written as CSV
(``configurations.csv``, ``records.csv``) and, where pyarrow is installed, as Parquet
(``configurations.parquet``, ``records.parquet``: every column at full precision).

The CSV is kept small: no column that another one gives (the tensor's ``numel`` is the
product of ``shape``; ``oracle_ratio`` is ``oracle_scratch / oracle_torch``), flags written
0/1, ``judged_by`` written as the flag ``by_oracle`` (1: outside tolerance, passed by the
float64 oracle), the (``rtol``, ``atol``) pair as an id into ``tolerances.csv`` (a few dozen
distinct pairs over the whole matrix), other floats to 5 significant digits (Parquet keeps
them whole). ``load`` restores every column.
"""

from __future__ import annotations

import importlib.util
import io
import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from nnparity.scratch.errors import NNParityError

from .atomic import write_bytes, write_text
from .frame import CONFIG_COLUMNS, FLOATS, RECORD_COLUMNS, join, typed_records

CSV_FLOAT = "%.5g"  # 5 significant digits: the Parquet files keep full precision
CSV_DROPPED = ("numel",)  # the product of shape's dimensions
FLAGS = ("passed", "nonfinite", "by_oracle")
TEXT = ("stage", "tensor", "shape")


class ReportDataError(NNParityError):
    """A report folder whose data files are missing or unreadable."""


@dataclass(frozen=True)
class ReportData:
    """A report's two typed tables; ``frame()`` joins them into the report's tidy frame."""

    configurations: pd.DataFrame
    records: pd.DataFrame

    def frame(self) -> pd.DataFrame:
        """One row per record with its configuration's columns, plus a message row per
        configuration that raised, went non-finite or has no records (``frame.join``)."""
        return join(self.configurations, self.records)


def has_parquet() -> bool:
    """Whether pyarrow is installed (Parquet files are written and read)."""
    return importlib.util.find_spec("pyarrow") is not None


def write_tables(configurations: pd.DataFrame, records: pd.DataFrame, out: Path) -> dict[str, Path]:
    """Write both tables as CSV, and as Parquet with pyarrow; return the paths by kind
    (``configurations_csv``, ``csv``, ``configurations_parquet``, ``parquet``)."""
    files = {
        "configurations_csv": _csv(configurations, out / "configurations.csv"),
    }
    compact, tolerances = _compact(records)
    files["csv"] = _csv(compact, out / "records.csv")
    files["tolerances_csv"] = _csv(tolerances, out / "tolerances.csv", "%.17g")
    if has_parquet():
        files["configurations_parquet"] = _parquet(configurations, out / "configurations.parquet")
        files["parquet"] = _parquet(records, out / "records.parquet")
    return files


def _compact(records: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``records`` as written to CSV, and the table of tolerances its ``tolerance`` column
    points into (see the module docstring)."""
    pairs = records[["rtol", "atol"]].drop_duplicates(ignore_index=True)
    tolerances = pairs.rename_axis("tolerance").reset_index()
    key = records[["rtol", "atol"]].merge(tolerances, how="left", on=["rtol", "atol"])
    out = records.drop(columns=[*CSV_DROPPED, "atol"])
    out["rtol"] = key["tolerance"].to_numpy()
    out = out.rename(columns={"rtol": "tolerance"})
    at = list(out.columns).index("judged_by")
    out.insert(at, "by_oracle", out.pop("judged_by") == "oracle")
    for c in FLAGS:
        out[c] = out[c].astype("int8")
    return out, tolerances


def _csv(table: pd.DataFrame, path: Path, floats: str = CSV_FLOAT) -> Path:
    text = table.to_csv(index=False, float_format=floats, lineterminator="\n")
    return write_text(path, text)


def _parquet(table: pd.DataFrame, path: Path) -> Path:
    buf = io.BytesIO()
    table.to_parquet(buf, index=False)
    return write_bytes(path, buf.getvalue())


def load(out_dir: str | Path) -> ReportData:
    """The typed tables of the report in ``out_dir``: from Parquet when pyarrow is installed
    and the files are there, else from the CSV. Integers are int64, flags bool, text str
    (an empty error is ``""``), floats float64; ``ReportDataError`` when the files are
    missing."""
    out = Path(out_dir)
    pq = out / "records.parquet", out / "configurations.parquet"
    if has_parquet() and all(p.exists() for p in pq):
        records = pd.read_parquet(pq[0])
        configurations = pd.read_parquet(pq[1])
    else:
        csv = out / "records.csv", out / "configurations.csv", out / "tolerances.csv"
        missing = [str(p) for p in csv if not p.exists()]
        if missing:
            raise ReportDataError(
                f"no report data in {str(out)!r}: {', '.join(missing)} missing; run "
                "`nnparity report --out DIR` first (a report older than version 0.1.1 has no "
                "configurations.csv: run it again)"
            )
        configurations = _read_configurations(csv[1])
        records = _read_records(csv[0], csv[2])
    configurations = configurations.astype(
        {"config": "int64", **{c: str for c in CONFIG_COLUMNS[1:]}}
    )
    return ReportData(configurations[list(CONFIG_COLUMNS)], records)


def _read_configurations(path: Path) -> pd.DataFrame:
    types = {c: str for c in CONFIG_COLUMNS[1:]}
    return pd.read_csv(path, dtype={"config": "int64", **types}, keep_default_na=False)


def _read_records(path: Path, tolerances: Path) -> pd.DataFrame:
    ints = {c: "int64" for c in ("config", "step", "mismatched", "tolerance", *FLAGS)}
    floats = {c: "float64" for c in FLOATS if c not in ("oracle_ratio", "rtol", "atol")}
    df = pd.read_csv(
        path,
        dtype={**ints, **floats, **{c: str for c in TEXT}},
        keep_default_na=False,
        na_values={c: ["", "nan", "NaN"] for c in floats},
    )
    tol = pd.read_csv(tolerances, dtype={"tolerance": "int64", "rtol": float, "atol": float})
    df = df.join(tol.set_index("tolerance"), on="tolerance")
    df["judged_by"] = df.pop("by_oracle").map({1: "oracle", 0: "tolerance"})
    df["numel"] = [math.prod(int(n) for n in s.split("x")) if s else 1 for s in df["shape"]]
    return typed_records(df[list(RECORD_COLUMNS)])
