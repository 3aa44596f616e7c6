"""The report made once per session (in this process, 2 steps) of ``small_plan``."""

from __future__ import annotations

import pytest
from report_helpers import small_plan

from nnparity.reports.report import Report, make_report


@pytest.fixture(scope="session")
def report(tmp_path_factory: pytest.TempPathFactory) -> Report:
    out = tmp_path_factory.mktemp("report")
    return make_report(small_plan(), out, jobs=1, progress=False)
