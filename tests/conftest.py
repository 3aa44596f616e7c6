"""Options shared by the whole suite."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--full",
        action="store_true",
        default=False,
        help="run the parity suite over the full product matrix (slow)",
    )


@pytest.fixture(scope="session")
def full_matrix(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--full"))
