"""``make_report``: sweep a plan, build the tidy frame and write every rendering of it.

Files in the output folder: ``report.md``, ``report.html`` (self-contained), ``records.csv``
(and ``records.parquet`` with pyarrow), ``heatmap_<dtype>.png``, ``divergence_vs_step.png``,
and while the sweep runs ``checkpoint.jsonl``, what ``--resume`` continues from (removed once
the report holds every configuration; a replaced one is kept as ``checkpoint.jsonl.bak``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np
import pandas as pd

from nnparity.scratch.errors import NNParityError

from . import plots, tables
from .atomic import write_bytes, write_text
from .budget import check
from .checkpoint import Outcome
from .data import write_tables
from .frame import join, to_tables, usable
from .lock import locked
from .matrix_file import Plan
from .render import Section, cell, html_page, markdown
from .sweep import Runner, note, run_config, sweep, with_framework
from .verdict import highlights, verdict

TITLE = "nnparity report: scratch NumPy against PyTorch"


@dataclass(frozen=True)
class Report:
    """What ``make_report`` wrote: the files by kind, the frame and the summary paragraph."""

    out: Path
    files: dict[str, Path]
    frame: pd.DataFrame
    summary: str
    configurations: int
    finished: int
    verdict: str = ""  # the first line: how many agree, disagree, diverged alike
    highlights: tuple[str, ...] = ()  # closest to tolerance (with its replay), float32 drift

    @property
    def ok(self) -> bool:
        """True when every configuration ran and none failed or raised."""
        status = self.frame.drop_duplicates("config")["status"]
        return self.finished == self.configurations and status.isin(("pass", "diverged")).all()

    @property
    def exit_code(self) -> int:
        """What ``nnparity report`` exits with: 1 when a configuration failed parity; else 2
        when one could not be judged (it raised, or did not run); else 0 (every one agreed)."""
        status = set(self.frame.drop_duplicates("config")["status"])
        if "fail" in status:
            return 1
        return 0 if self.ok else 2


class OutputError(NNParityError):
    """The output folder cannot be made or written."""


CHECKPOINT = "checkpoint.jsonl"
DTYPES = ("float32", "float64")
OWNED = (
    "report.md",
    "report.html",
    "records.csv",
    "records.parquet",
    "configurations.csv",
    "configurations.parquet",
    "tolerances.csv",
    *(f"heatmap_{d}.png" for d in DTYPES),
    "divergence_vs_step.png",
)  # what a report writes; a rerun removes those it did not write this time


def make_report(
    plan: Plan,
    out: str | Path,
    *,
    jobs: int | None = None,
    resume: bool = False,
    progress: bool = True,
    limit: int | None = None,
    runner: Runner = run_config,
    log: Callable[[str], None] | None = None,
    allow_long: bool = False,
    against: tuple[str, ...] = ("torch",),
    scheduler: str | None = None,
) -> Report:
    """Sweep ``plan`` (see ``sweep.sweep`` for the keywords), write the report into ``out``;
    return a ``Report``.

    The files of an earlier report in ``out`` that this one did not write are removed (only
    the names in ``OWNED``); the checkpoint is removed once every configuration is in the
    report. Refused up front (``budget.ResourceError``) when the sweep cannot fit in memory,
    or exceeds the step and time limits without ``allow_long``; ``lock.FolderBusy`` while
    another report writes ``out``; ``OutputError`` when ``out`` cannot be made or written.
    ``against``: the frameworks each configuration is held to (``sweep.with_framework``)."""
    check(plan.specs, len(plan.modes) * len(against), plan.steps, jobs, allow_long=allow_long)
    out = Path(out)
    _prepare(out)
    tasks = [
        (str(s), with_framework(m, fw)) for s in plan.specs for m in plan.modes for fw in against
    ]
    try:
        with locked(out, log or note):
            outcomes = sweep(
                tasks,
                plan.steps,
                out / CHECKPOINT,
                jobs=jobs,
                resume=resume,
                progress=progress,
                limit=limit,
                runner=runner,
                log=log,
                scheduler=scheduler,
            )
            configurations, records = to_tables(outcomes)
            frame = join(configurations, records)
            text = summary(frame, plan, len(tasks), outcomes)
            lead = (verdict(frame, len(tasks)), *highlights(frame))
            files = write_all(frame, plan, text, out, lead)
            files.update(write_tables(configurations, records, out))
            for name in OWNED:
                if out / name not in files.values():
                    (out / name).unlink(missing_ok=True)
            if len(outcomes) == len(set(tasks)):
                (out / CHECKPOINT).unlink(missing_ok=True)  # complete: nothing left to resume
    except OSError as e:
        where = Path(e.filename).resolve() if e.filename is not None else None
        if where is None or (where != out.resolve() and out.resolve() not in where.parents):
            raise  # not the output folder's fault
        raise OutputError(f"cannot write {e.filename}: {e.strerror}") from None
    return Report(out, files, frame, text, len(tasks), len(outcomes), lead[0], lead[1:])


def _prepare(out: Path) -> None:
    """Make the output folder; ``OutputError`` naming the problem when it cannot be."""
    if out.exists() and not out.is_dir():
        raise OutputError(f"--out {str(out)!r} is a file, not a folder; choose another path")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        block = next((p for p in out.parents if p.exists() and not p.is_dir()), None)
        why = f"{str(block)!r} is a file" if block is not None else e.strerror
        raise OutputError(f"cannot make the folder --out {str(out)!r}: {why}") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write into --out {str(out)!r}: permission denied")


def summary(frame: pd.DataFrame, plan: Plan, n_tasks: int, outcomes: list[Outcome]) -> str:
    """One readable paragraph: how many configurations, how many passed, worst per dtype."""
    status = pd.Series([o.status for o in outcomes], dtype=str).value_counts()
    n = len(outcomes)
    modes = ", ".join(plan.modes)
    head = (
        f"{len(plan.specs)} specs x {len(plan.modes)} mode(s) ({modes}) = {n_tasks} "
        f"configurations, {plan.steps} step(s) each"
    )
    if n < n_tasks:
        head += f" (partial: {n} finished; run again with --resume to finish)"
    words = {
        "pass": "passed",
        "fail": "failed parity",
        "diverged": "diverged (non-finite on both sides: the model, not the code)",
        "error": "raised an error",
    }
    counts = ", ".join(
        f"{int(status.get(k, 0))} {w}"
        for k, w in words.items()
        if k in ("pass", "fail") or status.get(k, 0)
    )
    n_cmp = int((frame["stage"] != "").sum())
    parts = [f"{head}; {n_cmp:,} comparisons: {counts}."]
    u = usable(frame)
    parts += [_dtype_sentence(u[u["dtype"] == d], d) for d in sorted(u["dtype"].unique())]
    parts += _one_side_sentence(u) + _exploded_sentence(frame)
    if not u.empty:
        parts.append(
            "The 'Worst configurations' table lists the configurations closest to their "
            "tolerance, with a command to replay each."
        )
    return " ".join(parts)


def _where(r: pd.Series) -> str:
    return f"step {r['step']} / {r['stage']} / {r['tensor']}"


def _dtype_sentence(d: pd.DataFrame, dtype: str) -> str:
    """The dtype's worst fraction of tolerance (finite comparisons) and the configuration it
    comes from; then its largest relative difference, with its configuration and how much of
    tolerance that comparison used."""
    d = d[np.isfinite(d["tol_used"]) & np.isfinite(d["max_rel"])]
    if d.empty:
        return f"{dtype}: no finite comparison."
    r = d.loc[d["tol_used"].idxmax()]
    if not r["passed"]:
        verdict = "failed: outside tolerance"
    elif r["judged_by"] == "oracle":
        verdict = (
            "passed, judged by the float64 oracle: outside tolerance, but scratch is no "
            "further from float64 than PyTorch's own float32 error"
        )
    else:
        verdict = "passed"
    text = (
        f"{dtype}: at worst {cell(float(r['tol_used']))} of tolerance ({verdict}), in "
        f"'{r['spec']}' ({r['mode']} mode, {_where(r)})"
    )
    m = d.loc[d["max_rel"].idxmax()]
    same = "the same configuration" if m["config"] == r["config"] else "the same spec"
    where = (
        f"{same} ({m['mode']} mode, {_where(m)})"
        if m["spec"] == r["spec"]
        else f"'{m['spec']}' ({m['mode']} mode, {_where(m)})"
    )
    text += (
        f"; the largest relative difference, {cell(float(m['max_rel']))}, is in {where}, "
        f"and used {cell(float(m['tol_used']))} of tolerance"
    )
    if m["tol_used"] <= 1 and m["max_rel"] > m["rtol"]:
        text += (
            " (within it: a relative difference is large on an element small next to its "
            "tensor's largest)"
        )
    return text + "."


def _one_side_sentence(u: pd.DataFrame) -> list[str]:
    """The configurations non-finite on one side only (infinite differences), which the
    figures above leave out, and where the first one went."""
    bad = u[u["nonfinite"] & np.isinf(u["max_abs"])]
    if bad.empty:
        return []
    n = bad["config"].nunique()
    r = bad.iloc[0]
    return [
        f"{n} configuration{'s' if n > 1 else ''} went non-finite on one side only: "
        f"{'failures' if n > 1 else 'a failure'}, with infinite differences, left out of the "
        f"figures above (first '{r['spec']}', {r['mode']} mode, at {_where(r)}: scratch "
        f"{float(r['scratch_value'])!r}, PyTorch {float(r['torch_value'])!r})."
    ]


def _exploded_sentence(frame: pd.DataFrame) -> list[str]:
    """The configurations whose training exploded (finite, but the loss grew more than
    ``tables.EXPLODED``-fold): why their absolute differences are huge."""
    growth = tables.loss_growth(frame)
    boom = growth[growth > tables.EXPLODED]
    if boom.empty:
        return []
    n = len(boom)
    return [
        f"{n} configuration{'s' if n > 1 else ''} exploded, scratch and PyTorch alike (the "
        f"loss grew up to {cell(float(boom.max()))}-fold over the run, values staying "
        "finite): absolute differences grow with the values, so they are judged relative to "
        "them ('loss grew' in the 'Worst configurations' table)."
    ]


def sections(frame: pd.DataFrame, plan: Plan) -> list[Section]:
    """The report's sections in order, each with its table."""
    dtypes = sorted(frame["dtype"].unique())
    out = [
        Section(
            "Summary",
            f"Matrix {plan.name}; modes {', '.join(plan.modes)}; {plan.steps} step(s); seed "
            f"{plan.seed}; {_versions()}. Divergence is the largest relative difference "
            "|scratch - PyTorch| / |PyTorch| over a tensor's elements (the denominator floored "
            "at 1e-6 x the tensor's largest value), maximised over the configurations, steps and "
            "modes a cell covers; 'of tolerance' is the largest |diff| / allowed, above 1 "
            "outside it (a float32 comparison outside it still passes when scratch is no "
            "further from a float64 run than PyTorch's own float32 error); 'inf' marks a "
            "comparison non-finite on one side only, a failure. 'exploded': configurations "
            f"whose loss grew more than {tables.EXPLODED:g}-fold over the run, scratch and "
            "PyTorch alike. Configurations that raised or diverged are left out of the tables "
            "and listed at the end.",
            tables.summary(frame),
            shade=("of tolerance",),
        )
    ]
    for dtype in dtypes:
        for stage, label in tables.STAGES.items():
            table = tables.activation_initializer(frame, stage, dtype, "tol_used")
            out.append(
                Section(
                    f"Activation x initializer: {label}, {dtype}",
                    f"Fraction of tolerance used by the {label} ('{stage}' records; above 1: "
                    "outside it), the largest over the cell's configurations, steps and modes. "
                    "'failed': configurations of the row outside tolerance. A row '(output)' "
                    "holds the configurations with that output-layer activation. 'not swept', "
                    "'diverged' (on both sides), 'raised': cells without numbers.",
                    _marked(table, tables.coverage(frame, dtype)),
                    shade=tuple(c for c in table.columns if c != "failed"),
                )
            )
    for dtype in dtypes:
        out.append(
            Section(
                f"Optimizer x loss: post-step weights, {dtype}",
                "Fraction of tolerance used by the weights after each optimizer step ('—': "
                "not swept at this dtype).",
                lo := tables.loss_optimizer(frame, dtype, value="tol_used"),
                shade=tuple(lo.columns),
            )
        )
    out += [
        Section(
            "Growth over steps (free-running)",
            f"Max relative difference of the post-step weights at step 1 and step {plan.steps} "
            "when each side follows its own trajectory, and their ratio.",
            tables.growth(frame),
        ),
        Section(
            "float32 against the float64 oracle, by stage",
            "Each float32 side's absolute error against a float64 PyTorch run of the same "
            "configuration, scratch and PyTorch side by side (median and max over "
            "comparisons), and the median of scratch's error / PyTorch's (near 1: scratch "
            "rounds like PyTorch). Maxima come from the configurations whose values grow "
            "largest.",
            tables.oracle(frame, "stage"),
        ),
        Section(
            "float32 against the float64 oracle, by activation",
            "As above, per hidden activation.",
            tables.oracle(frame, "activation"),
        ),
        Section(
            "Divergence by layer type",
            "Per layer type and dtype, the largest fraction of its allowance any comparison of "
            "that layer's arrays used (gradients, post-step weights, optimizer state, running "
            "statistics); layers without arrays show in the gradients of the layers below.",
            tables.layer_types(frame),
        ),
        Section(
            "Worst configurations",
            "One row per spec, ranked by the fraction of tolerance it used, at the mode and "
            "comparison where it came closest; paste a command to replay it step by step. "
            "judged_by: 'tolerance', or 'oracle' (outside tolerance, but scratch no further "
            "from float64 than PyTorch's own float32 error: how a row above 1 passes). "
            "'loss grew': the run's largest loss over its first step's; above "
            f"{tables.EXPLODED:g} the training exploded, scratch and PyTorch alike, and "
            "max_abs grows with the values.",
            tables.worst(frame),
            code=("spec", "command"),
            shade=("of tolerance",),
        ),
        Section(
            "PyTorch against JAX",
            "Configurations swept against both frameworks (--against torch,jax; the tables "
            "above hold PyTorch's): scratch's largest relative difference from each, and how "
            "many fail against one only (that framework's convention, or a borderline) or "
            "both (scratch is the odd one out when PyTorch and JAX agree); replay one with "
            "nnparity compare SPEC --against torch,jax for its three-way verdict.",
            tables.frameworks(frame),
        ),
        Section(
            "Errors and non-finite configurations",
            "Configurations that raised or went non-finite, with their messages.",
            tables.errors(frame),
            code=("spec",),
        ),
    ]
    return out


def _marked(table: pd.DataFrame, cover: pd.DataFrame) -> pd.DataFrame:
    """``table`` with its empty cells named from ``cover`` (``tables.coverage``): 'not
    swept', 'diverged', 'raised' instead of one dash for all three."""
    words = {"none": "not swept", "diverged": "diverged", "raised": "raised"}
    out = table.astype(object)
    for c in cover.columns:
        if c in out.columns:
            blank = out[c].isna()
            named = cover[c].reindex(out.index).map(words)
            out.loc[blank & named.notna(), c] = named[blank & named.notna()]
    return out


def _versions() -> str:
    names = ("numpy", "torch", "pandas")
    found = []
    for n in names:
        try:
            found.append(f"{n} {version(n)}")
        except PackageNotFoundError:  # pragma: no cover
            pass
    return ", ".join(found)


def write_all(
    frame: pd.DataFrame, plan: Plan, text: str, out: Path, lead: tuple[str, ...] = ()
) -> dict[str, Path]:
    """Write the report's pages and plots into ``out`` (the data files: ``data.write_tables``);
    return their paths by kind."""
    secs = sections(frame, plan)
    images: dict[str, tuple[str, bytes]] = {}
    files: dict[str, Path] = {}
    if not usable(frame).empty:
        for dtype in sorted(frame["dtype"].unique()):
            images[f"heatmap_{dtype}.png"] = (
                f"{dtype}: fraction of tolerance used, activation x initializer, per stage "
                "(one colour scale for every dtype; 1 = the tolerance)",
                plots.heatmap(frame, dtype),
            )
        images["divergence_vs_step.png"] = (
            "Fraction of tolerance of the post-step weights against step, free-running, one "
            "panel per hidden activation (the black line: the tolerance)",
            plots.divergence_vs_step(frame),
        )
        if not tables.layer_types(frame).empty:
            images["layer_types.png"] = (
                "Largest fraction of tolerance used, by layer type x dtype",
                plots.layer_heatmap(frame),
            )
    for name, (_, png) in images.items():
        files[name] = write_bytes(out / name, png)
    captions = dict(images.values())
    scale = plots.tolerance_scale(frame)

    def colour(v: float) -> tuple[str, str]:
        return plots.tolerance_colour(v, scale)

    md = markdown(TITLE, text, secs, lead=lead, images=[(c, n) for n, (c, _) in images.items()])
    page = html_page(TITLE, text, secs, captions, lead=lead, colour=colour)
    files["markdown"] = write_text(out / "report.md", md)
    files["html"] = write_text(out / "report.html", page)
    return files
