"""One speed claim for the default report: README and `nnparity report --help` give the same
measured figure."""

from __future__ import annotations

from pathlib import Path

from nnparity.reports.cli import main
from nnparity.reports.cmd_report import DEFAULT_TIME

README = Path(__file__).parents[2] / "README.md"


def test_readme_and_help_give_the_same_figure(capsys):
    text = " ".join(README.read_text().split())
    assert text.count(DEFAULT_TIME) >= 2  # the quick start and the report's section
    for stale in ("about 15 seconds", "well under 2 minutes", "about 2 minutes on 2 busy"):
        assert stale not in text
    try:
        main(["report", "--help"])
    except SystemExit:
        pass
    assert DEFAULT_TIME in " ".join(capsys.readouterr().out.split())
