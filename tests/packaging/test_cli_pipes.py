"""A reader that goes away (``nnparity ... | head``) ends the command quietly, exit 0."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    "args",
    [
        ["list"],
        ["list", "--json"],
        ["compare", "3-4-1 tanh,sigmoid loss=bce", "--json", "--steps", "2"],
        ["compare", "3-4-1 tanh,sigmoid loss=bce"],
    ],
    ids=["list", "list-json", "compare-json", "compare"],
)
def test_a_closed_pipe_is_no_error(args):
    p = subprocess.Popen(
        [sys.executable, "-m", "nnparity", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    p.stdout.close()  # no reader left: the command's first write meets a broken pipe
    err = p.stderr.read().decode()
    assert p.wait(timeout=120) == 0, err
    assert "Traceback" not in err and "BrokenPipe" not in err, err


def test_python_dash_m_nnparity_is_the_console_script():
    res = subprocess.run(
        [sys.executable, "-m", "nnparity", "--help"], capture_output=True, text=True, timeout=60
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("usage: nnparity")
