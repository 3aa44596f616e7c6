"""``nnparity check FILE.py`` on a file defining ``nnparity_layers()``: every layer run in the
child process, one verdict per layer (text and JSON), exit 0 only when all match; and the
``assert_layer_matches`` fixture."""

from __future__ import annotations

import json

import layer_impls as L
import pytest

from nnparity.reports.cli import main

pytest_plugins = ["pytester"]


def _two_layer_file(tmp_path, ok: str, bug: str):
    """One file whose nnparity_layers() returns a correct and a buggy layer (by name)."""
    f = tmp_path / "my_layers.py"
    f.write_text(
        "import importlib.util\n"
        "def _load(path):\n"
        "    spec = importlib.util.spec_from_file_location(path.rsplit('/', 1)[-1][:-3], path)\n"
        "    m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m); return m\n"
        f"ok = _load({str(L.EXAMPLES / (ok + '.py'))!r})\n"
        f"bug = _load({str(L.EXAMPLES / (bug + '.py'))!r})\n"
        "print('hello from the learner')\n"
        "def nnparity_layers():\n"
        "    return {'good conv': ok.nnparity_layers()[0], 'my conv': bug.nnparity_layers()[0]}\n"
    )
    return f


def test_check_runs_every_layer_in_the_child_one_verdict_each(tmp_path, capsys):
    f = _two_layer_file(tmp_path, "layers_conv_ok", "layers_conv_bug")
    rc = main(["check", str(f)])
    text = capsys.readouterr().out
    assert rc == 1
    assert text.splitlines()[0] == "code: implementation_bug (1 of 2 layer(s) match PyTorch)"
    assert "good conv (conv): match" in text and "my conv (conv): implementation_bug" in text
    assert "conv_flip [out]" in text
    assert "hello from the learner" in text  # the child's captured output


def test_check_layers_json(tmp_path, capsys):
    f = _two_layer_file(tmp_path, "layers_maxpool_ok", "layers_maxpool_bug")
    rc = main(["check", str(f), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 1
    assert out["code"] == "implementation_bug"
    assert [(x["name"], x["code"]) for x in out["layers"]] == [
        ("good conv", "match"),
        ("my conv", "implementation_bug"),
    ]
    assert out["layers"][1]["findings"][0]["code"] == "pool_routing"
    assert out["training"]["outcome"] == "not_assessed"


@pytest.mark.parametrize("stem", ["layers_batchnorm_ok", "layers_dropout_ok"])
def test_check_a_correct_layer_file_exits_0(stem, capsys):
    rc = main(["check", str(L.EXAMPLES / f"{stem}.py")])
    assert rc == 0, capsys.readouterr()
    assert capsys.readouterr().out.startswith("code: match (1 of 1 layer(s)")


def test_a_file_with_neither_function_names_both(tmp_path, capsys):
    f = tmp_path / "empty.py"
    f.write_text("x = 1\n")
    assert main(["check", str(f)]) == 2
    err = capsys.readouterr().err
    assert "nnparity_adapter" in err and "nnparity_layers" in err


def test_assert_layer_matches_fixture(pytester):
    ok, bug = (str(L.EXAMPLES / f"layers_batchnorm_{s}.py") for s in ("ok", "bug"))
    pytester.makeconftest("")
    pytester.makepyfile(
        test_student=f"""
import importlib.util
spec = importlib.util.spec_from_file_location("bn", {ok!r})
bn = importlib.util.module_from_spec(spec); spec.loader.exec_module(bn)
spec = importlib.util.spec_from_file_location("bnbug", {bug!r})
bad = importlib.util.module_from_spec(spec); spec.loader.exec_module(bad)

def test_good(assert_layer_matches):
    assert_layer_matches(bn.batchnorm_forward, bn.batchnorm_backward, layer="batchnorm",
                         convention="cs231n")

def test_bad(assert_layer_matches):
    assert_layer_matches(bad.batchnorm_forward, bad.batchnorm_backward, layer="batchnorm",
                         convention="cs231n")

def test_bad_expected(assert_layer_matches):
    assert_layer_matches(bad.batchnorm_forward, bad.batchnorm_backward, layer="batchnorm",
                         convention="cs231n", expect="implementation_bug")
"""
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*expected verdict 'match', got 'implementation_bug'*"])
    result.stdout.fnmatch_lines(["*batchnorm_backward [[]dx[]]*"])
