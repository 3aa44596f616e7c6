"""Renderings of the report: Markdown and one self-contained HTML page (tables and base64 PNG
plots inside, every value HTML-escaped), the tidy CSV and, where pyarrow is installed, Parquet.

Numbers are formatted one way everywhere (``cell``), rows keep their computed order, and
nothing time-dependent is written, so the same data gives the same bytes.
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd


@dataclass(frozen=True)
class Section:
    """A titled part of the report: a paragraph, then a table (its index shown when named)."""

    title: str
    text: str
    table: pd.DataFrame | None = None
    code: tuple[str, ...] = field(default=())  # columns shown as code (spec strings, commands)
    shade: tuple[str, ...] = field(default=())  # columns of fractions of tolerance, coloured


def cell(v: Any) -> str:
    """One value as text: floats to 3 significant digits, missing as an em dash."""
    if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
        return "—"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return "0" if v == 0 else f"{v:.3g}"
    return str(v)


def _rows(table: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    """Header and formatted rows; the index (each level) comes first when it is named."""
    names = [n for n in table.index.names if n is not None]
    head = [str(n) for n in names] + [str(c) for c in table.columns]
    rows = []
    for idx, row in zip(table.index, table.itertuples(index=False), strict=True):
        keys = (idx if isinstance(idx, tuple) else (idx,)) if names else ()
        rows.append([cell(k) for k in keys] + [cell(v) for v in row])
    return head, rows


def md_text(text: str, cell: bool = False) -> str:
    """``text`` safe in Markdown: newlines become spaces, ``&``, ``<`` and ``>`` HTML entities
    (no raw HTML gets into the page); in a table ``cell``, ``|`` escaped too."""
    text = " ".join(text.splitlines()) if "\n" in text or "\r" in text else text
    text = html.escape(text, quote=False)
    return text.replace("|", "\\|") if cell else text


def _md_code(text: str) -> str:
    """``text`` as inline code in a table cell: backticks when it is plain, else an HTML
    ``<code>`` element with escaped content (inside backticks, entities would show as
    typed)."""
    safe = md_text(text, cell=True)
    if safe == text.replace("|", "\\|") and "`" not in text:
        return f"`{safe}`"
    return f"<code>{safe.replace('`', '&#96;')}</code>"


def markdown(
    title: str,
    summary: str,
    sections: Sequence[Section],
    *,
    lead: Sequence[str] = (),
    images: Sequence[tuple[str, str]] = (),
) -> str:
    """The report as GitHub-flavoured Markdown; every text is escaped (``md_text``): the
    verdict and its bullets (``lead``), the contents, the plots (``images``: caption, file
    name beside the report), the summary paragraph, then the sections."""
    out = [f"# {md_text(title)}", ""]
    if lead:
        out += [f"**{md_text(lead[0])}**", ""] + [f"- {md_text(t)}" for t in lead[1:]] + [""]
    titles = (["Plots"] if images else []) + ["Details"] + [s.title for s in sections]
    out += ["Contents: " + " · ".join(f"[{md_text(t)}](#{_anchor(t)})" for t in titles), ""]
    if images:
        out += ["## Plots", ""]
        out += [f"![{md_text(c)}]({md_text(n)})" for c, n in images] + [""]
    out += ["## Details", "", md_text(summary), ""]
    for s in sections:
        out += [f"## {md_text(s.title)}", "", md_text(s.text), ""]
        if s.table is None or s.table.empty:
            out += ["(nothing to show)", ""] if s.table is not None else []
            continue
        head, rows = _rows(s.table)
        code = {head.index(c) for c in s.code if c in head}

        def md(i: int, v: str, code: set[int] = code) -> str:
            return _md_code(v) if i in code and v != "—" else md_text(v, cell=True)

        out.append("| " + " | ".join(md(-1, h) for h in head) + " |")
        out.append("|" + "|".join("---" for _ in head) + "|")
        out += ["| " + " | ".join(md(i, v) for i, v in enumerate(r)) + " |" for r in rows]
        out.append("")
    return "\n".join(out)


def _anchor(title: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens."""
    kept = "".join(c for c in title.lower() if c.isalnum() or c in " -_")
    return kept.replace(" ", "-")


STYLE = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:95em;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em;font-size:.85em}
th,td{border:1px solid #ccc;padding:.2em .5em;text-align:right}
th{background:#f3f3f3}td.t,th.t{text-align:left}code{font-size:.95em}
.fail{background:#fdd}.diverged,.error{background:#ffe7c2}img{max-width:100%}
.scroll{overflow-x:auto}.verdict{font-size:1.25em}nav{margin:1em 0}nav a{margin-right:1em}
figure{margin:1em 0}figcaption{font-size:.9em;color:#555}
"""


def _html_table(s: Section, colour: Colour | None = None) -> str:
    assert s.table is not None
    head, rows = _rows(s.table)
    code = {head.index(c) for c in s.code if c in head}
    e = html.escape
    text_cols = {i for i, h in enumerate(head) if i == 0 or i in code or h in ("where", "error")}
    offset = len(head) - len(s.table.columns)
    shade = {offset + list(s.table.columns).index(c) for c in s.shade if c in s.table.columns}
    parts = ['<div class="scroll"><table>', "<tr>"]
    parts += [
        f'<th class="{"t" if i in text_cols else ""}">{e(h)}</th>' for i, h in enumerate(head)
    ]
    parts.append("</tr>")
    for r, raw in zip(rows, s.table.itertuples(index=False), strict=True):
        parts.append("<tr>")
        for i, v in enumerate(r):
            cls = " ".join(c for c in ("t" if i in text_cols else "", v if v in STATUS else ""))
            body = f"<code>{e(v)}</code>" if i in code else e(v)
            style = ""
            x = raw[i - offset] if i >= offset else None
            if colour is not None and i in shade and isinstance(x, float) and not math.isnan(x):
                bg, ink = colour(x)
                style = f' style="background:{bg};color:{ink}"'
            parts.append(f'<td class="{e(cls.strip())}"{style}>{body}</td>')
        parts.append("</tr>")
    parts.append("</table></div>")
    return "".join(parts)


Colour = Callable[[float], tuple[str, str]]  # a fraction of tolerance -> background, text


STATUS = ("fail", "diverged", "error")


def html_page(
    title: str,
    summary: str,
    sections: Sequence[Section],
    plots: dict[str, bytes],
    *,
    lead: Sequence[str] = (),
    colour: Colour | None = None,
) -> str:
    """The report as one HTML page: the verdict and its bullets (``lead``), the contents, the
    plots (caption -> PNG bytes, embedded inline), the summary paragraph, then the sections,
    their fractions of tolerance (``Section.shade``) coloured by ``colour``."""
    e = html.escape
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{e(title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{e(title)}</h1>",
    ]
    if lead:
        out.append(f'<p class="verdict"><strong>{e(lead[0])}</strong></p>')
        if lead[1:]:
            out.append("<ul>" + "".join(f"<li>{e(t)}</li>" for t in lead[1:]) + "</ul>")
    ids = [f"s{i}" for i in range(len(sections))]
    links = ([("plots", "Plots")] if plots else []) + [("details", "Details")]
    links += list(zip(ids, (s.title for s in sections), strict=True))
    out.append(
        "<nav><strong>Contents</strong>: "
        + " ".join(f'<a href="#{i}">{e(t)}</a>' for i, t in links)
        + "</nav>"
    )
    if plots:
        out.append('<h2 id="plots">Plots</h2>')
    for caption, png in plots.items():
        data = base64.b64encode(png).decode("ascii")
        out.append(
            f'<figure><img alt="{e(caption)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{e(caption)}</figcaption></figure>"
        )
    out.append(f'<h2 id="details">Details</h2><p>{e(summary)}</p>')
    for i, s in zip(ids, sections, strict=True):
        out.append(f'<h2 id="{i}">{e(s.title)}</h2><p>{e(s.text)}</p>')
        if s.table is not None:
            out.append(_html_table(s, colour) if not s.table.empty else "<p>(nothing to show)</p>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"
