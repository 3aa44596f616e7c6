"""``nnparity check`` runs the learner's file in a child process: one test per way a learner's
program can fool or break a check run in nnparity's own process (issue 9 items 1 and 6,
issue 10's learner side). Each learner here is a 2-3-1 tanh network on four rows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tiny_learner import BASE

from nnparity.reports.cli import main

FAST = ["--steps", "2", "--watch", "0", "--no-probe"]


def learner(folder: Path, body: str, name: str = "student.py") -> Path:
    """``folder/name`` importing ``make`` from ``folder/base.py``."""
    (folder / "base.py").write_text(BASE)
    f = folder / name
    f.write_text("from base import make\n" + body)
    return f


def check(f: Path, *extra: str) -> int:
    return main(["check", str(f), *FAST, *extra])


def no_verdict(capsys, rc: int) -> str:
    """The stderr of a verdict-less exit 2: no report on stdout."""
    out, err = capsys.readouterr()
    assert rc == 2, (out, err)
    assert "code:" not in out and "internal error" not in err
    return err


def test_a_plain_learner_still_matches(tmp_path, capsys):
    f = learner(tmp_path, "def nnparity_adapter(): return make()\n")
    assert check(f) == 0
    assert capsys.readouterr().out.startswith("code: match")


def test_sys_exit_at_import_is_no_verdict_never_a_match(tmp_path, capsys):
    f = learner(tmp_path, "import sys\ndef nnparity_adapter(): return make()\nsys.exit(0)\n")
    err = no_verdict(capsys, check(f))
    assert "your program called sys.exit(0) while nnparity loaded your file" in err
    assert "student.py:4 (in <module>)" in err


def test_input_at_import_says_a_check_has_no_keyboard(tmp_path, capsys):
    """Review s30b F8: a bare EOFError traceback before."""
    f = learner(tmp_path, "name = input('your name? ')\ndef nnparity_adapter(): return make()\n")
    err = no_verdict(capsys, check(f))
    assert "read from the keyboard (input())" in err and "__name__" in err, err


def test_sys_exit_inside_the_gradient_function(tmp_path, capsys):
    f = learner(tmp_path, "import sys\ndef nnparity_adapter(): return make(lambda: sys.exit(0))\n")
    err = no_verdict(capsys, check(f))
    assert "sys.exit(0) during the check" in err and "student.py:3 (in <lambda>)" in err


def test_os_exit_is_no_verdict(tmp_path, capsys):
    f = learner(tmp_path, "import os\ndef nnparity_adapter(): return make(lambda: os._exit(0))\n")
    err = no_verdict(capsys, check(f))
    assert "your program ended the process (exit status 0) before the check finished" in err


def test_a_segfault_is_no_verdict_and_says_where(tmp_path, capsys):
    f = learner(
        tmp_path,
        "import ctypes\ndef nnparity_adapter(): return make(lambda: ctypes.string_at(0))\n",
    )
    err = no_verdict(capsys, check(f))
    assert "crashed (SIGSEGV" in err
    assert f'File "{f}", line 3 in <lambda>' in err  # the original path, not the copy's


def test_a_hang_stops_at_the_timeout_and_names_the_flag(tmp_path, capsys):
    f = learner(
        tmp_path,
        "import sys\nprint('started', flush=True)\nwhile True:\n    pass\n"
        "def nnparity_adapter(): return make()\n",
    )
    err = no_verdict(capsys, check(f, "--timeout", "6"))
    assert "did not finish within 6 s (the --timeout limit)" in err
    if "started" in err:  # the child reached the loop (torch imported within the 6 s)
        assert f'File "{f}", line ' in err


def test_a_memory_hog_stops_at_the_memory_limit(tmp_path, capsys):
    f = learner(
        tmp_path,
        "import numpy as np\n"
        "def nnparity_adapter():\n    hog = np.ones(4 * 10**8)\n    return make()\n",
    )
    err = no_verdict(capsys, check(f, "--memory-limit", "1500M"))
    assert "ran out of memory" in err
    assert "the 1500 MiB memory limit (on top of PyTorch's own); --memory-limit" in err


def test_json_stays_valid_whatever_the_learner_prints(tmp_path, capsys):
    f = learner(
        tmp_path,
        "print('{\"verdict\": \"match\"} [')\nfor i in range(20000): print('line', i)\n"
        "def nnparity_adapter(): return make(lambda: print('in grads }'))\n",
    )
    assert check(f, "--json") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["code"] == "match" and data["findings"] == []
    assert data["output"].startswith('{"verdict": "match"} [\nline 0\n')
    assert "bytes left out" in data["output"] and data["output"].endswith("in grads }\n")


def test_json_of_a_verdictless_run_is_valid_json(tmp_path, capsys):
    f = learner(tmp_path, "print('hi')\nimport sys\nsys.exit(3)\n")
    assert check(f, "--json") == 2
    data = json.loads(capsys.readouterr().out)
    assert data["code"] is None and data["status"] == "exited"
    assert "sys.exit(3)" in data["error"] and data["output"] == "hi\n"


def test_module_level_argparse_sees_only_the_file(tmp_path, capsys):
    f = learner(
        tmp_path,
        "import argparse, sys\n"
        "ap = argparse.ArgumentParser()\nap.add_argument('--epochs', type=int, default=3)\n"
        "args = ap.parse_args()\nassert sys.argv == [__file__], sys.argv\n"
        "def nnparity_adapter(): return make()\n",
    )
    assert check(f, "--json") == 0
    assert json.loads(capsys.readouterr().out)["code"] == "match"


def test_a_file_that_deletes_its_folder_deletes_only_a_copy(tmp_path, capsys):
    (tmp_path / "data.txt").write_text("precious")
    f = learner(
        tmp_path,
        "import os\nfor n in os.listdir('.'):\n    os.remove(n)\n"
        "def nnparity_adapter(): return make()\n",
    )
    assert check(f) == 0
    assert (tmp_path / "data.txt").read_text() == "precious"
    assert f.is_file() and (tmp_path / "base.py").is_file()
    assert capsys.readouterr().out.startswith("code: match")


def test_what_the_program_prints_is_shown_under_its_own_heading(tmp_path, capsys):
    f = learner(tmp_path, "print('epoch 1 loss 0.5')\ndef nnparity_adapter(): return make()\n")
    assert check(f) == 0
    out = capsys.readouterr().out
    assert "your program printed (1 line(s), stdout and stderr):\n  | epoch 1 loss 0.5" in out


def test_nan_initial_weights_are_named_not_a_learning_rate(tmp_path, capsys):
    f = learner(
        tmp_path,
        "import numpy as np\n"
        "def nnparity_adapter():\n"
        "    return make(init_hook=lambda p: p['W1'].__setitem__((1, 2), np.nan))\n",
    )
    err = no_verdict(capsys, check(f))
    assert "W1 holds NaN before any step (1 of 6 entries, first at index (1, 2))" in err
    assert "your initialisation" in err and "learning rate" not in err


def test_inf_initial_bias_is_named(tmp_path, capsys):
    f = learner(
        tmp_path,
        "def nnparity_adapter():\n"
        "    return make(init_hook=lambda p: p['b2'].__setitem__(0, float('inf')))\n",
    )
    assert "b2 holds inf before any step" in no_verdict(capsys, check(f))


LOSS_STR = """
import numpy as np
from nnparity.reference.learner import from_loss
X = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
Y = np.array([0, 1, 1, 0])
params = {"W1": np.eye(2, 3), "b1": np.zeros(3), "W2": np.eye(3, 2), "b2": np.zeros(2)}
def loss(X, y=None):
    s = X @ params["W1"] @ params["W2"]
    if y is None:
        return s
    g = {k: np.zeros_like(v) for k, v in params.items()}
    return "loss: %.3f" % s.sum(), g
def nnparity_adapter():
    return from_loss(params, loss, forward=loss, sizes=[2, 3, 2],
                     activations="identity,identity", loss="cross_entropy", lr=0.1, data=(X, Y))
"""


@pytest.mark.parametrize("style", ["declared", "undeclared"])
def test_a_loss_returned_as_a_string_is_named(tmp_path, capsys, style):
    if style == "declared":  # from_loss: (loss, grads) declared
        f = tmp_path / "student.py"
        f.write_text(LOSS_STR)
    else:  # from_gradients: (loss, grads) recognised from what is returned
        f = learner(tmp_path, "def nnparity_adapter(): return make(loss_hook=str)\n")
    err = no_verdict(capsys, check(f))
    assert "returned its loss as a str (" in err and "return the loss as a number" in err


def test_own_scratch_reference_and_reports_beside_the_learner(tmp_path, capsys):
    (tmp_path / "scratch.py").write_text(
        "def make_it():\n    from base import make\n    return make()\n"
    )
    (tmp_path / "reference.py").write_text("ANSWER = 42\n")
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "__init__.py").write_text("TITLE = 'mine'\n")
    f = learner(
        tmp_path,
        "import scratch, reference, reports\n"
        "assert reference.ANSWER == 42 and reports.TITLE == 'mine'\n"
        "def nnparity_adapter(): return scratch.make_it()\n",
    )
    assert check(f) == 0, capsys.readouterr()
    assert capsys.readouterr().out.startswith("code: match")


def test_several_files_are_a_batch_and_missing_ones_are_named(tmp_path, capsys):
    """Several files are a batch now (reports/grade.py); none of them existing is exit 2."""
    assert main(["check", str(tmp_path / "a.py"), str(tmp_path / "b.py")]) == 2
    err = capsys.readouterr().err
    assert "a.py: no submission found" in err and "b.py: no submission found" in err
    assert "no submission to grade" in err
    assert not (tmp_path / "grades").exists()


def test_an_internal_failure_in_the_child_is_exit_3(tmp_path):
    from nnparity.reference.learner import sandbox

    f = learner(tmp_path, "def nnparity_adapter(): return make()\n")
    out = sandbox.run_isolated(str(f), {"steps": "two"}, timeout=120)
    assert out.status == sandbox.INTERNAL and out.exit_code() == 3
    assert "Traceback" in out.error and "TypeError" in out.error


def test_the_copy_leaves_out_big_files_and_says_so(tmp_path):
    from nnparity.reference.learner.workspace import copy_folder

    src, dst = tmp_path / "src", tmp_path / "dst"
    (src / "sub").mkdir(parents=True)
    (src / ".git").mkdir()
    f = src / "student.py"
    f.write_text("x = 1\n" * 100)
    (src / "helper.py").write_text("y = 2\n")
    (src / "sub" / "small.txt").write_text("s")
    (src / "big.npy").write_bytes(b"0" * 5000)
    (src / ".git" / "HEAD").write_text("ref")
    note = copy_folder(src, dst, f, limit=1000)
    assert (dst / "student.py").read_text() == f.read_text()
    assert (dst / "helper.py").is_file() and (dst / "sub" / "small.txt").is_file()
    assert not (dst / "big.npy").exists() and not (dst / ".git").exists()
    assert "1 file(s) of" in note and "largest left out: big.npy" in note
    assert copy_folder(src, tmp_path / "all", f, limit=10**6) == ""


@pytest.mark.parametrize(
    ("text", "n"), [("4G", 4 * 2**30), ("512M", 512 * 2**20), ("2GiB", 2 * 2**30), ("0", 0)]
)
def test_sizes_read_as_binary_units(text, n):
    from nnparity.reference.learner import sandbox

    assert sandbox.parse_bytes(text) == n


def test_a_bad_size_is_refused_with_the_form_to_write(capsys):
    with pytest.raises(SystemExit):
        main(["check", "x.py", "--memory-limit", "lots"])
    assert "not a size: 'lots' (write e.g. 4G, 512M or 0 for no limit)" in capsys.readouterr().err


def test_a_long_output_is_cut_at_whole_lines_and_counted(tmp_path, capsys):
    """Review s19b: the cut split a line in two, and the header counted the lines shown as
    the lines printed."""
    f = learner(
        tmp_path,
        "for i in range(20000): print('line', i)\n"
        "def nnparity_adapter(): return make(lambda: None)\n",
    )
    assert check(f) == 0
    out = capsys.readouterr().out
    assert "line(s) shown, the middle left out, stdout and stderr):" in out
    lines = out.split("your program printed", 1)[1].splitlines()[1:]
    cut = next(i for i, ln in enumerate(lines) if "left out ...]" in ln)
    before, after = int(lines[cut - 1].split()[-1]), int(lines[cut + 1].split()[-1])
    assert f"[... {after - before - 1} line(s)," in lines[cut], lines[cut - 1 : cut + 2]
