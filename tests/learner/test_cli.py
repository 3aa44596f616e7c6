"""``nnparity check FILE.py[:NAME]`` end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from nnparity.reports.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_check_json_names_the_bug_and_exits_1(examples, capsys):
    rc = main(["check", str(examples / "seed002_relu_output.py"), "--steps", "5", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 1
    assert out["code"] == "implementation_bug"
    assert out["training"]["outcome"] == "not_assessed"
    assert [f["code"] for f in out["findings"]] == ["wrong_activation_derivative"] * 2
    assert out["findings"][0]["params"] == ["W2"] and out["findings"][0]["step"] == 2
    assert {p["name"] for p in out["params"]} >= {"W1", "W2"}


def test_check_match_exits_0_verdict_first(examples, capsys):
    rc = main(["check", str(examples / "style_c_step.py"), "--steps", "3"])
    text = capsys.readouterr().out
    assert rc == 0
    assert text.splitlines()[0] == "code: match"
    assert "parameters:" in text and "W1" in text


def test_check_named_adapter_tuple(tmp_path, capsys):
    f = tmp_path / "mine.py"
    f.write_text(
        "import numpy as np\n"
        "from nnparity.reference.learner import from_forward\n"
        "P = {'W': np.array([[1.0, -2.0], [0.5, 0.25], [3.0, 1.0]])}\n"
        "X = np.array([[1.0, 2.0, 3.0]])\n"
        "mine = (from_forward(P, ['W'], lambda X: X @ P['W'], sizes=[3, 2],\n"
        "                     activations='identity', bias='none'), X, None)\n"
    )
    assert main(["check", f"{f}:mine", "--no-probe"]) == 0
    assert capsys.readouterr().out.startswith("code: match")


def test_check_bad_target_exits_2(tmp_path, capsys):
    assert main(["check", str(tmp_path / "missing.py")]) == 2
    f = tmp_path / "empty.py"
    f.write_text("x = 1\n")
    assert main(["check", str(f)]) == 2
    assert "defines no 'nnparity_adapter'" in capsys.readouterr().err


def test_check_from_the_command_line():
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "nnparity.reports.cli",
            "check",
            "examples/learners/seed000_relu_xor.py",
            "--steps",
            "4",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "code: implementation_bug"
    assert lines[1].startswith("training: not_assessed")
    assert any("derivative_of_output [Wo]" in x for x in lines)
    assert any("updated_weights_used [Ws]" in x for x in lines)


def test_check_internal_error_exits_3_and_says_it_is_ours(examples, capsys, monkeypatch):
    from nnparity.reference.learner import checker

    def boom(*args, **kwargs):
        raise IndexError("an nnparity slip")

    monkeypatch.setattr(checker, "_check", boom)  # in this process: --in-process
    assert main(["check", str(examples / "style_c_step.py"), "--in-process"]) == 3
    out, err = capsys.readouterr()
    assert out == ""
    assert "internal error" in err and "not a verdict on your network" in err
    assert "IndexError: an nnparity slip" in err


def test_check_into_a_closed_pipe_is_quiet():
    proc = subprocess.Popen(
        [sys.executable, "-m", "nnparity.reports.cli", "check", "examples/learners/style_c_step.py"]
        + ["--steps", "1", "--watch", "0", "--no-probe"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    proc.stdout.close()  # like `| head` that has already exited
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 0, err
    assert "Traceback" not in err and "BrokenPipe" not in err


ODD = (
    "import numpy as np\n"
    "from nnparity.reference.learner import from_gradients\n"
    "p = {'W1': np.zeros((2, 3)), 'b1': np.zeros(3)}\n"
    "X, Y = np.zeros((4, 2)), np.zeros((4, 3))\n"
    "def _a(g, X=X, Y=Y):\n"
    "    return from_gradients(p, ['W1', 'b1'], g, sizes=[2, 3], activations='tanh',\n"
    "                          data=(X, Y))\n"
    "def grad_str(): return _a(lambda X, y: {'W1': 'oops', 'b1': np.zeros(3)})\n"
    "def grad_ragged(): return _a(lambda X, y: [np.zeros((2, 3)), [1, [2]]])\n"
    "def empty(): return _a(lambda X, y: [0 * p['W1'], 0 * p['b1']], np.zeros((0, 2)),\n"
    "                       np.zeros((0, 3)))\n"
    "def ok(): return _a(lambda X, y: [0 * p['W1'], 0 * p['b1']])\n"
)


def test_a_learners_unusable_values_exit_2_with_what_to_return(tmp_path, capsys):
    f = tmp_path / "odd.py"
    f.write_text(ODD)
    for name, message in [
        ("grad_str", "W1's gradient is a str: return an array shaped like W1"),
        ("grad_ragged", "b1's gradient (list) is not an array of numbers"),
        ("empty", "X has no rows"),
    ]:
        assert main(["check", f"{f}:{name}", "--steps", "2", "--no-probe"]) == 2, name
        err = capsys.readouterr().err
        assert message in err and "internal error" not in err, err
    assert main(["check", f"{f}:ok", "--batch-size", "0", "--no-probe"]) == 2
    assert "batch_size must be >= 1, got 0" in capsys.readouterr().err


def test_probe_steps_reach_the_training_probe(examples, capsys):
    """--probe-steps N: the probe trains N steps (a learner whose own program trains longer
    than the probe's budget, review s59d F5, says so)."""
    rc = main(["check", str(examples / "style_c_step.py"), "--steps", "2", "--json",
               "--probe-steps", "7", "--in-process"])  # fmt: skip
    out = json.loads(capsys.readouterr().out)
    assert rc in (0, 1) and "after 7 step(s)" in out["training"]["reached"], out["training"]
