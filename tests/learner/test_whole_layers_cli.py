"""``nnparity check FILE.py`` on whole layered networks (the child process, text and JSON):
the CS231n, ThreeLayerConvNet and nnfs examples, correct ones exit 0 with ``match``, buggy ones
exit 1 with the bug named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nnparity.reports.cli import main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "learners"


@pytest.mark.parametrize("stem", ["net_fc_bn_dropout_ok", "net_convnet_ok", "net_nnfs_dropout_ok"])
def test_correct_network_text(stem, capsys):
    rc = main(["check", str(EXAMPLES / f"{stem}.py"), "--steps", "3"])
    text = capsys.readouterr().out
    assert rc == 0, text
    assert text.splitlines()[0] == "code: match"


@pytest.mark.parametrize(
    ("stem", "code"),
    [
        ("net_fc_bn_dropout_bug", "batchnorm_backward"),
        ("net_convnet_bug", "pool_routing"),
        ("net_nnfs_dropout_bug", "dropout_mask"),
    ],
)
def test_buggy_network_json(stem, code, capsys):
    rc = main(["check", str(EXAMPLES / f"{stem}.py"), "--steps", "2", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 1
    assert out["code"] == "implementation_bug"
    assert out["findings"][0]["code"] == code
    assert out["findings"][0]["layer"] is not None and out["findings"][0]["step"] == 1
    assert {row["canonical"] for row in out["params"]} >= {"W1", "b1"}


def test_running_statistics_never_stored_say_so_in_the_learners_words(tmp_path, capsys):
    """Review s52 F4a: CS231n's batchnorm_forward without its two lines storing the running
    statistics was refused with nnparity's internal objects in the message (RemoteFn, a
    _RemoteRoot)."""
    src = (EXAMPLES / "net_fc_bn_dropout_ok.py").read_text()
    stored = (
        '    bn_param["running_mean"] = running_mean\n    bn_param["running_var"] = running_var\n'
    )
    assert stored in src
    path = tmp_path / "never_stored.py"
    path.write_text(src.replace(stored, ""))
    rc = main(["check", str(path), "--steps", "2"])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert "buffer running_mean2 cannot be read after your training pass" in err, err
    assert "bn_param['running_mean'] = running_mean" in err, err
    assert "Remote" not in err and " at 0x" not in err, err
