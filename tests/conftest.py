"""Options shared by the whole suite, and a summary section that tests can add lines to."""

from __future__ import annotations

import os

import pytest

SUMMARY = "nnparity_summary"  # a test's summary lines travel in its report (pytest-xdist too)
LINES: list[str] = []  # gathered from the reports, in the process that prints the summary


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--full",
        action="store_true",
        default=False,
        help="run the parity suite over the full product matrix (slow)",
    )


def pytest_configure(config: pytest.Config) -> None:
    if getattr(config.option, "numprocesses", None):
        # pytest-xdist's workers, one per core, start after this: one thread each, or
        # OpenBLAS's and torch's pools spin against the other workers'
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ.setdefault(var, "1")


def pytest_sessionstart(session: pytest.Session) -> None:
    if os.environ.get("PYTEST_XDIST_WORKER"):
        import torch

        torch.set_num_threads(1)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "teardown":
        for key, lines in report.user_properties:
            if key == SUMMARY:
                LINES.extend(lines)


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # noqa: ANN001
    if LINES:
        terminalreporter.section("nnparity soundness")
        for line in LINES:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def full_matrix(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--full"))


@pytest.fixture
def summary(request: pytest.FixtureRequest):  # noqa: ANN201
    """Lines printed in the 'nnparity soundness' section at the end of the run (no -s)."""
    lines: list[str] = []
    yield lines
    request.node.user_properties.append((SUMMARY, tuple(lines)))


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Import torch before a pytester test: its in-process run restores ``sys.modules``
    afterwards, and a torch first imported inside it is dropped from there while its C
    extension stays loaded, so the next ``import torch`` of the session crashes the
    interpreter (SystemError, then a segfault). Imported before, it is kept."""
    if "pytester" in getattr(item, "fixturenames", ()):
        import torch  # noqa: F401
