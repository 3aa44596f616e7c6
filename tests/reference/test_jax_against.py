"""JAX wired in: ``run_parity(against="jax")``, ``nnparity compare --against torch,jax`` with a
table per framework and a triangulated verdict, the plugin's ``against=``. Planted bugs through
the CLI: one in the torch twin is blamed on PyTorch, one in scratch on scratch."""

from __future__ import annotations

import dataclasses
import json

import pytest

pytest.importorskip("jax", reason="jax is not installed (pip install nnparity[jax])")
pytest.importorskip("optax", reason="jax is not installed (pip install nnparity[jax])")

from torch import nn  # noqa: E402

from nnparity.reference.against import parse_against, run_against  # noqa: E402
from nnparity.reference.engine import run_parity  # noqa: E402
from nnparity.reference.variants import torch_activations  # noqa: E402
from nnparity.reports.cli import main  # noqa: E402
from nnparity.scratch import Activation, SpecError, build  # noqa: E402
from nnparity.scratch.activations import activations  # noqa: E402

SPEC = "4-6-3 tanh,identity loss=mse opt=adam(lr=0.01) seed=1"
LAYERED = "1x8x8 conv(4,k=3,pad=1) relu flatten dense(3) loss=cross_entropy opt=sgd(lr=0.1)"


@pytest.fixture
def fresh_build():
    """build() caches networks by spec: a planted registry entry must not leak either way."""
    build.cache_clear()
    yield
    build.cache_clear()


def _plant(monkeypatch, registry, name, make):
    variant = registry[name]
    monkeypatch.setitem(registry._variants, name, dataclasses.replace(variant, make=make))


def _torch_tanh_off(monkeypatch):
    class Off(nn.Module):
        def forward(self, z):
            return nn.functional.tanh(z) * 1.01

    _plant(monkeypatch, torch_activations, "tanh", lambda: Off())


def _scratch_tanh_vjp_wrong(monkeypatch):
    good = activations["tanh"].build()
    wrong = Activation(good.f, lambda z, a, g: g * (1.0 - a))  # 1 - a instead of 1 - a^2
    _plant(monkeypatch, activations, "tanh", lambda: wrong)


def test_compare_against_both_agrees_on_correct_scratch(capsys):
    assert main(["compare", SPEC, "--steps", "3", "--against", "torch,jax"]) == 0
    out = capsys.readouterr().out
    assert "scratch against PyTorch:" in out and "scratch against JAX:" in out
    assert "PASS: scratch matches PyTorch" in out and "PASS: scratch matches JAX" in out
    assert "verdict: all three agree" in out


def test_compare_cli_blames_a_bug_in_the_torch_twin_on_pytorch(monkeypatch, fresh_build, capsys):
    _torch_tanh_off(monkeypatch)
    assert main(["compare", SPEC, "--steps", "2", "--against", "torch,jax"]) == 1
    out = capsys.readouterr().out
    assert "FAIL: scratch differs from PyTorch" in out
    assert "PASS: scratch matches JAX" in out
    assert "verdict: PyTorch is the odd one out: scratch and JAX agree" in out
    assert "first at step 1 forward output" in out


@pytest.mark.parametrize("mode", ["free", "resync"])
def test_compare_cli_blames_a_bug_in_scratch_on_scratch(monkeypatch, fresh_build, capsys, mode):
    _scratch_tanh_vjp_wrong(monkeypatch)
    args = ["compare", SPEC, "--steps", "2", "--mode", mode, "--against", "torch,jax"]
    assert main(args) == 1
    out = capsys.readouterr().out
    assert "FAIL: scratch differs from PyTorch" in out and "FAIL: scratch differs from JAX" in out
    assert "verdict: scratch is the odd one out: PyTorch and JAX agree" in out
    assert "first at step 1 grad" in out


def test_compare_json_has_records_per_framework_and_the_verdict(monkeypatch, fresh_build, capsys):
    _torch_tanh_off(monkeypatch)
    args = ["compare", SPEC, "--steps", "2", "--against", "torch,jax", "--json"]
    assert main(args) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["against"] == ["torch", "jax"] and data["odd_one_out"] == "torch"
    assert data["frameworks"]["torch"]["passed"] is False
    assert data["frameworks"]["jax"]["passed"] is True
    for fw in ("torch", "jax"):
        assert {r["framework"] for r in data["frameworks"][fw]["records"]} == {fw}
    assert set(data["max_differences"]) == {"scratch-torch", "scratch-jax", "torch-jax"}


def test_against_jax_alone_names_jax_in_its_records_and_message(monkeypatch, fresh_build):
    ok = run_parity(SPEC, 2, against="jax")
    assert ok.passed and {r.framework for r in ok.records} == {"jax"}
    _scratch_tanh_vjp_wrong(monkeypatch)
    build.cache_clear()  # the network built above holds the good tanh
    bad = run_parity(SPEC, 2, against="jax")
    assert not bad.passed
    text = bad.message()
    assert "jax: " in text and "torch: " not in text and "PyTorch" not in text


def test_default_is_torch_and_its_records_say_so():
    result = run_parity(SPEC, 1)
    assert {r.framework for r in result.records} == {"torch"}
    assert result.framework == "torch"


def test_float32_against_both_agrees_through_the_jax_oracle():
    res = run_against(SPEC + " dtype=float32", 3, "free", against=["torch", "jax"])
    assert res.passed, res.message()
    assert res.triangulation.odd_one_out is None, res.verdict()
    jax_recs = res.results["jax"].records
    assert any(r.oracle_scratch is not None for r in jax_recs)  # JAX float64 as the oracle


def test_layered_spec_against_jax_is_refused_in_one_message(capsys):
    assert main(["compare", LAYERED, "--against", "torch,jax"]) == 2
    err = capsys.readouterr().err
    assert "--against jax holds dense specs only" in err and "Traceback" not in err
    with pytest.raises(SpecError, match="dense specs only"):
        run_parity(LAYERED, 1, against="jax")


def test_unknown_framework_is_named(capsys):
    assert main(["compare", SPEC, "--against", "torch,tensorflow"]) == 2
    err = capsys.readouterr().err
    assert "--against takes one or more of torch, jax" in err
    with pytest.raises(SpecError, match="against must be one of torch, jax"):
        run_parity(SPEC, 1, against="tf")
    assert parse_against(" JAX, torch,jax") == ("jax", "torch")


pytest_plugins = ["pytester"]


def test_plugin_takes_against(pytester):
    pytester.makepyfile(
        """
        from nnparity.scratch import Activation, build, Spec
        from nnparity.scratch.activations import activations

        SPEC = Spec.parse("3-4-2 tanh,identity loss=mse opt=sgd(lr=0.1)")

        def test_ok(assert_parity):
            result = assert_parity(SPEC, steps=2, against="torch,jax")
            assert result.triangulation.odd_one_out is None

        def test_bug(assert_parity):
            net = build(SPEC)
            acts = list(net.acts)
            good = acts[0]
            acts[0] = Activation(good.f, lambda z, a, g: g * (1.0 - a))
            assert_parity(SPEC, steps=2, net=net._replace(acts=tuple(acts)),
                          against=["torch", "jax"])
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        ["*against PyTorch: Parity failed*", "*verdict: scratch is the odd one out*"]
    )
