"""Renderings of the report: Markdown and one self-contained HTML page (tables and base64 PNG
plots inside, every value HTML-escaped), the tidy CSV and, where pyarrow is installed, Parquet.

Numbers are formatted one way everywhere (``cell``), rows keep their computed order, and
nothing time-dependent is written, so the same data gives the same bytes.
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Sequence
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


def markdown(title: str, summary: str, sections: Sequence[Section]) -> str:
    """The report as GitHub-flavoured Markdown; every text is escaped (``md_text``)."""
    out = [f"# {md_text(title)}", "", md_text(summary), ""]
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


STYLE = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:95em;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em;font-size:.85em}
th,td{border:1px solid #ccc;padding:.2em .5em;text-align:right}
th{background:#f3f3f3}td.t,th.t{text-align:left}code{font-size:.95em}
.fail{background:#fdd}.diverged,.error{background:#ffe7c2}img{max-width:100%}
.scroll{overflow-x:auto}
"""


def _html_table(s: Section) -> str:
    assert s.table is not None
    head, rows = _rows(s.table)
    code = {head.index(c) for c in s.code if c in head}
    e = html.escape
    text_cols = {i for i, h in enumerate(head) if i == 0 or i in code or h in ("where", "error")}
    parts = ['<div class="scroll"><table>', "<tr>"]
    parts += [
        f'<th class="{"t" if i in text_cols else ""}">{e(h)}</th>' for i, h in enumerate(head)
    ]
    parts.append("</tr>")
    for r in rows:
        parts.append("<tr>")
        for i, v in enumerate(r):
            cls = " ".join(c for c in ("t" if i in text_cols else "", v if v in STATUS else ""))
            body = f"<code>{e(v)}</code>" if i in code else e(v)
            parts.append(f'<td class="{e(cls.strip())}">{body}</td>')
        parts.append("</tr>")
    parts.append("</table></div>")
    return "".join(parts)


STATUS = ("fail", "diverged", "error")


def html_page(
    title: str, summary: str, sections: Sequence[Section], plots: dict[str, bytes]
) -> str:
    """The report as one HTML page; ``plots`` (caption -> PNG bytes) are embedded inline."""
    e = html.escape
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{e(title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{e(title)}</h1>",
        f"<p>{e(summary)}</p>",
    ]
    for s in sections:
        out.append(f"<h2>{e(s.title)}</h2><p>{e(s.text)}</p>")
        if s.table is not None:
            out.append(_html_table(s) if not s.table.empty else "<p>(nothing to show)</p>")
    if plots:
        out.append("<h2>Plots</h2>")
    for caption, png in plots.items():
        data = base64.b64encode(png).decode("ascii")
        out.append(
            f'<figure><img alt="{e(caption)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{e(caption)}</figcaption></figure>"
        )
    out.append("</body></html>")
    return "\n".join(out) + "\n"
