"""nnparity lives in other people's test runs: their files named ``reference.py``,
``scratch.py`` or a ``reports/`` package never break it, and it never shadows theirs."""

from __future__ import annotations

import shutil
from pathlib import Path

pytest_plugins = ["pytester"]

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "learners" / "style_c_step.py"

TESTS = """
import reference, scratch, reports

def test_their_own_modules_are_theirs():
    assert reference.SOLUTION == 42 and scratch.Network == "theirs" and reports.KIND == "theirs"

def test_assert_parity_fixture(assert_parity):
    assert_parity("3-4-1 tanh,sigmoid loss=bce opt=sgd(lr=0.1)", steps=2)

def test_assert_learner_matches_fixture(assert_learner_matches):
    assert_learner_matches("student_net.py", steps=2)

def test_public_api():
    import nnparity
    assert nnparity.Spec.parse("3-4-1 tanh,sigmoid").sizes == (3, 4, 1)
"""


def test_a_course_folder_with_our_names_still_runs(pytester):
    pytester.makepyfile(reference="SOLUTION = 42\n", scratch="Network = 'theirs'\n")
    pytester.mkpydir("reports").joinpath("__init__.py").write_text("KIND = 'theirs'\n")
    shutil.copy(EXAMPLE, pytester.path / "student_net.py")
    pytester.makepyfile(test_course=TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=4)
