"""The files of a report: HTML that parses and escapes, byte-identical reruns, the CLI."""

from __future__ import annotations

from html.parser import HTMLParser

import pandas as pd
import pytest
from report_helpers import read, small_plan

from nnparity.reports.cli import main
from nnparity.reports.matrix_file import resolve
from nnparity.reports.render import Section, html_page, markdown
from nnparity.reports.report import make_report

MARKUP = "4-3-1 <img src=x onerror=alert(1)>,sigmoid loss=bce & </td></table><script>x</script>"


class Checker(HTMLParser):
    """Collects start tags and text; checks that every element closes in order."""

    VOID = {"meta", "img", "br", "hr", "link", "input"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes {self.stack[-1:]}"
        self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def parse(page: str) -> Checker:
    c = Checker()
    c.feed(page)
    c.close()
    assert c.stack == [], f"unclosed: {c.stack}"
    return c


def test_html_parses_and_embeds_the_plots(report):
    page = report.files["html"].read_text()
    c = parse(page)
    pngs = [n for n in report.files if n.endswith(".png")]  # heatmaps, divergence, layer types
    assert c.tags.count("img") == len(pngs) >= 3 and "script" not in c.tags
    assert page.count('src="data:image/png;base64,') == len(pngs)
    assert "Worst configurations" in "".join(c.text)


def test_html_escapes_a_spec_containing_markup():
    table = pd.DataFrame({"spec": [MARKUP], "error": ['<b>"boom"</b>']})
    page = html_page("t <i>", "s & <u>", [Section("<h1>", "<p>", table, code=("spec",))], {})
    c = parse(page)
    assert {"img", "script", "b", "u", "i"}.isdisjoint(c.tags) and c.tags.count("h1") == 1
    text = "".join(c.text)
    assert MARKUP in text and '<b>"boom"</b>' in text and "s & <u>" in text
    assert "| " in markdown("t", "s", [Section("x", "y", table, code=("spec",))])


def test_markdown_escapes_cells_and_keeps_each_row_on_one_line():
    table = pd.DataFrame(
        {
            "spec": [MARKUP, "3-4-1 tanh,sigmoid loss=bce"],
            "error": ["line one\nline two | <script>alert(1)</script> & more", "ok"],
        }
    )
    md = markdown("t <i>", "s & <u>\nnext", [Section("x", "y <b>", table, code=("spec",))])
    assert "<script>" not in md and "<img" not in md and "<u>" not in md and "<b>" not in md
    lines = md.splitlines()
    rows = [line for line in lines if line.startswith("| ")]
    assert len(rows) == 3  # header and two rows: the newline did not break a row
    assert all(r.replace("\\|", "").count("|") == 3 for r in rows)  # 2 columns, escaped pipes
    assert "line one line two \\| &lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in md
    assert "<code>4-3-1 &lt;img src=x" in md  # markup in a code column: escaped, not backticks
    assert "`3-4-1 tanh,sigmoid loss=bce`" in md  # plain code stays in backticks
    assert "s &amp; &lt;u&gt; next" in md and "# t &lt;i&gt;" in md


def test_html_escapes_an_error_message_from_a_sweep(tmp_path):
    from report_helpers import MARKUP as planted_markup
    from report_helpers import planted

    plan = small_plan(steps=1)
    plan = plan.__class__(plan.name, plan.specs[:4], 1)
    rep = make_report(plan, tmp_path, jobs=1, progress=False, runner=planted)
    page = rep.files["html"].read_text()
    assert "<script>" not in page and "<script>" not in rep.files["markdown"].read_text()
    assert planted_markup in "".join(parse(page).text)


def test_same_seed_gives_identical_csv_and_markdown(report, tmp_path):
    again = make_report(small_plan(), tmp_path, jobs=1, progress=False)
    for kind in ("csv", "markdown"):
        assert read(again.files[kind]) == read(report.files[kind]), kind
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp files left


def test_cli_end_to_end_in_worker_processes_matches_in_process(report, tmp_path, capsys):
    """``nnparity report`` on the quick matrix (plus softmax) in 2 workers: same bytes."""
    from nnparity.reports import matrix_file

    plan = small_plan()
    toml = tmp_path / "m.toml"
    toml.write_text("specs = [\n" + ",\n".join(f'  "{s}"' for s in plan.specs) + "\n]\nsteps = 2\n")
    assert matrix_file.load(toml).specs == plan.specs
    out = tmp_path / "out"
    code = main(["report", "--matrix", str(toml), "--out", str(out), "--jobs", "2"])
    assert code == 0
    std = capsys.readouterr()
    assert f"Report: {out / 'report.html'}" in std.out
    n = len(plan.specs) * len(plan.modes)
    assert std.out.startswith(f"{n} configurations: {n} agree with PyTorch within tolerance")
    assert "nnparity report" in std.err  # the progress bar and the plan line
    assert read(out / "records.csv") == read(report.files["csv"])
    md = read(out / "report.md").replace(str(toml).encode(), b"quick+")
    assert md == read(report.files["markdown"])
    for name in ("heatmap_float32.png", "heatmap_float64.png", "divergence_vs_step.png"):
        assert read(out / name).startswith(b"\x89PNG")


def test_cli_default_seed_and_quick_matrix(tmp_path, capsys):
    out = tmp_path / "q"
    assert main(["report", "--matrix", "quick", "--steps", "1", "--seed", "7", "--out",
                 str(out), "--no-progress"]) == 0  # fmt: skip
    text = capsys.readouterr().out
    n = 2 * len(resolve("quick").specs)  # both modes
    assert f"{n} configurations" in text and "report.md" in text
    assert "seed=7" in (out / "configurations.csv").read_text()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--matrix", "nope"], "neither a matrix name"),
        (["--steps", "0"], "must be a whole number >= 1"),
    ],
)
def test_cli_bad_arguments_are_one_clear_line(argv, message, capsys):
    try:
        code = main(["report", *argv])
    except SystemExit as e:  # argparse
        code = e.code
    assert code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
