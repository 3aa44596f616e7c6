"""The report's pages and plots: its sections in order, written as Markdown, HTML and PNG."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pandas as pd

from . import plots, tables
from .atomic import write_bytes, write_text
from .frame import usable
from .matrix_file import Plan
from .render import Section, html_page, markdown

TITLE = "nnparity report: scratch NumPy against PyTorch"


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
