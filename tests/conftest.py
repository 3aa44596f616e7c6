"""Options shared by the whole suite, and a summary section that tests can add lines to."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--full",
        action="store_true",
        default=False,
        help="run the parity suite over the full product matrix (slow)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config._nnparity_summary = []  # type: ignore[attr-defined]


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # noqa: ANN001
    lines = getattr(config, "_nnparity_summary", [])
    if lines:
        terminalreporter.section("nnparity soundness")
        for line in lines:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def full_matrix(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--full"))


@pytest.fixture(scope="session")
def summary(request: pytest.FixtureRequest) -> list[str]:
    """Lines printed in the 'nnparity soundness' section at the end of the run (no -s)."""
    return request.config._nnparity_summary


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Import torch before a pytester test: its in-process run restores ``sys.modules``
    afterwards, and a torch first imported inside it is dropped from there while its C
    extension stays loaded, so the next ``import torch`` of the session crashes the
    interpreter (SystemError, then a segfault). Imported before, it is kept."""
    if "pytester" in getattr(item, "fixturenames", ()):
        import torch  # noqa: F401
