"""``nnparity compare``, ``nnparity list`` and the pytest plugin, end to end."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from nnparity.reports.cli import main

SPEC = "3-4-1 tanh,sigmoid loss=bce opt=sgd(lr=0.1,momentum=0.9) init=xavier_uniform seed=0"


def test_compare_passes_with_a_table(capsys):
    assert main(["compare", SPEC, "--steps", "3"]) == 0
    out = capsys.readouterr().out
    assert "PASS" in out and "grad" in out and "optimizer_state" in out


def test_compare_json_and_failure_exit_code(capsys):
    assert main(["compare", SPEC + " dtype=float32", "--json", "--rtol", "0", "--atol", "0"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["passed"] is False
    assert {r["stage"] for r in data["records"]} >= {"forward", "loss", "grad", "update"}


def test_bad_spec_is_one_clear_line(capsys):
    assert main(["compare", "3-4-1 tanh,sigmod"]) == 2
    err = capsys.readouterr().err
    assert "did you mean 'sigmoid'" in err and "Traceback" not in err


def test_list_and_import_scratch_do_not_import_torch():
    code = (
        "import sys; from nnparity.reports.cli import main; main(['list', '--json']); "
        "import nnparity.scratch; assert 'torch' not in sys.modules, 'torch imported'; "
        "assert 'pandas' not in sys.modules"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert {"activation", "loss", "initializer", "optimizer"} <= set(data)


pytest_plugins = ["pytester"]


def test_plugin_fixture_passes_and_fails_like_assert_close(pytester):
    pytester.makepyfile(
        """
        from nnparity.scratch import Optimizer, build, Spec

        SPEC = Spec.parse("3-4-2 tanh,identity loss=mse opt=sgd(lr=0.1)")

        def test_ok(assert_parity):
            assert_parity(SPEC, steps=2)

        def test_bug(assert_parity):
            net = build(SPEC)
            bad = Optimizer(net.opt.init,
                            lambda g, s, p: net.opt.update({k: -v for k, v in g.items()}, s, p))
            assert_parity(SPEC, steps=2, net=net._replace(opt=bad))
        """
    )
    result = pytester.runpytest()  # the plugin arrives through its pytest11 entry point
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*step 1 / update / W1*", "*Mismatched elements: * / *"])


def test_list_table_names_every_variant_with_its_whole_formula(capsys):
    from nnparity.scratch import REGISTRIES

    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "losses (" in out and "activations (" in out and "losss" not in out
    for reg in REGISTRIES.values():
        for name in reg:
            assert f"  {name}" in out, name
            for line in reg[name].doc.splitlines():  # every line of the formula, not the first
                assert line in out, (name, line)


DIVERGING = "3-8-1 relu,identity opt=sgd(lr=1000) loss=mse"


def test_compare_json_is_strict_json_when_values_go_non_finite(capsys):
    assert main(["compare", DIVERGING, "--steps", "6", "--json"]) == 0

    def refuse(token):
        raise AssertionError(f"non-standard JSON token {token}")

    data = json.loads(capsys.readouterr().out, parse_constant=refuse)
    assert any(r["max_abs"] == "nan" or r["torch_value"] == "nan" for r in data["records"])


@pytest.mark.parametrize(("steps", "note"), [(3, "the loss grew from"), (6, "non-finite alike")])
def test_compare_says_when_both_sides_diverge(capsys, steps, note):
    assert main(["compare", DIVERGING, "--steps", str(steps)]) == 0
    out = capsys.readouterr().out
    assert "PASS" in out and note in out and "the code does not differ" in out


def test_compare_says_nothing_of_divergence_when_training_is_sane(capsys):
    assert main(["compare", SPEC, "--steps", "3"]) == 0
    assert "diverges" not in capsys.readouterr().out


def test_plugin_checks_a_learners_file(pytester):
    from pathlib import Path

    examples = Path(__file__).resolve().parents[2] / "examples" / "learners"
    pytester.makepyfile(
        f"""
        def test_correct_student(assert_learner_matches):
            assert_learner_matches({str(examples / "style_e_cs231n.py")!r}, steps=3, probe=False)

        def test_student_with_a_bug(assert_learner_matches):
            assert_learner_matches({str(examples / "seed002_relu_output.py")!r}, steps=3)
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        ["*expected verdict 'match', got 'implementation_bug'*", "*wrong_activation_derivative*"]
    )
