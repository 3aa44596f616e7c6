"""The ``assert_learner_matches`` fixture with a student's file, as a course's CI runs it: the
file is checked in the sandbox (a ``sys.exit(0)`` can never pass the test), and a relative
file is found beside the test file whatever the working directory."""

from __future__ import annotations

from pathlib import Path

import pytest
from tiny_learner import BASE

from nnparity.reference.learner import LearnerError
from nnparity.reference.plugin import assert_learner_matches

pytest_plugins = ["pytester"]

STUDENT = "from base import make\ndef nnparity_adapter():\n    return make()\n"  # a correct network
TEST = """
def test_student(assert_learner_matches):
    assert_learner_matches("student_net.py", steps=2, watch=0, probe=False)
"""


def course(pytester: pytest.Pytester, student: str) -> None:
    """A course folder: ``sub/`` holds the student's file, its helper and the test."""
    sub = pytester.mkpydir("sub")
    (sub / "base.py").write_text(BASE)
    (sub / "student_net.py").write_text(student)
    (sub / "test_student.py").write_text(TEST)


def test_a_student_file_ending_in_sys_exit_fails_the_students_test(pytester):
    course(pytester, STUDENT + "import sys\nsys.exit(0)\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*nnparity could not check*called sys.exit(0)*"])


def test_a_student_file_calling_os_exit_fails_the_run_not_passes_it(pytester):
    # in the test's own process, os._exit(0) would end pytest itself with status 0: a pass
    course(pytester, STUDENT.replace("return make()", "import os; os._exit(0)"))
    test = pytester.path / "sub" / "test_student.py"  # an absolute path, found either way
    test.write_text(TEST.replace('"student_net.py"', repr(str(test.parent / "student_net.py"))))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.ret == 1
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*nnparity could not check*ended the process (exit status 0)*"])


def test_a_correct_student_file_beside_the_test_passes_from_the_parent_folder(pytester):
    course(pytester, STUDENT + "print('training...')\n")
    result = pytester.runpytest("-p", "no:cacheprovider")  # run from the folder above sub/
    result.assert_outcomes(passed=1)


def test_a_student_whose_verdict_is_not_match_fails_with_the_report_and_its_prints(pytester):
    course(pytester, STUDENT.replace("make()", "make(lambda: print('hello'))"))
    base = pytester.path / "sub" / "base.py"  # plant a doubled hidden-layer gradient
    base.write_text(base.read_text().replace('dh = d @ p["W2"].T', 'dh = 2 * d @ p["W2"].T'))
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*expected verdict 'match', got 'implementation_bug'*",
            "*your program printed:*",
            "*hello*",
        ]
    )


def test_a_missing_file_names_the_folders_searched(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(LearnerError) as e:
        assert_learner_matches("nowhere_net.py")
    here = str(Path(__file__).resolve().parent)
    assert "no such file: nowhere_net.py (looked in " in str(e.value)
    assert here in str(e.value) and str(tmp_path) in str(e.value)


def test_a_course_folder_with_its_own_scratch_reference_and_reports(pytester):
    course(pytester, "import scratch, reference, reports\n" + STUDENT)
    sub = pytester.path / "sub"
    (sub / "scratch.py").write_text("X = 1\n")
    (sub / "reference.py").write_text("SOLUTION = 'mine'\n")
    (sub / "reports").mkdir()
    (sub / "reports" / "__init__.py").write_text("")
    (sub / "test_plain.py").write_text("def test_plain():\n    assert 1 + 1 == 2\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
