"""`nnparity conventions`: the table is measured, correct where checked by hand
(CONVENTIONS.md), and says "agree with" only where running the setting made the gap vanish."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("jax", reason="jax is not installed (pip install nnparity[jax])")
pytest.importorskip("optax", reason="jax is not installed (pip install nnparity[jax])")

import jax  # noqa: E402

from nnparity.reference import conventions_table as ct  # noqa: E402
from nnparity.reports.cli import main  # noqa: E402


@pytest.fixture(scope="module")
def rows():
    before = jax.config.jax_enable_x64
    table = ct.conventions_table()
    assert jax.config.jax_enable_x64 == before  # the x64 switch is left as found
    return {r.what: r for r in table}


def _row(rows, start):
    hits = [r for w, r in rows.items() if w.startswith(start)]
    assert len(hits) == 1, (start, list(rows))
    return hits[0]


def test_gelu_at_one_matches_the_hand_values(rows):
    r = _row(rows, "gelu(1)")
    assert float(r.torch[0]) == pytest.approx(0.841344746068543, abs=1e-15)
    assert float(r.jax[0]) == pytest.approx(0.8411919906082768, abs=1e-15)
    assert r.differs and r.agree_with == "jax.nn.gelu(x, approximate=False)"
    assert r.residual < 1e-15


def test_gelu_gap_over_the_grid_is_the_measured_one(rows):
    assert _row(rows, "gelu on [-6, 6]").difference == pytest.approx(4.73e-4, rel=1e-2)


def test_leaky_relu_gradient_at_zero(rows):
    r = _row(rows, "leaky_relu'(0)")
    assert float(r.torch[0]) == 0.01 and float(r.jax[0]) == 1.0
    assert r.agree_with is not None and r.residual == 0.0


def test_adamw_weight_decay_defaults(rows):
    r = _row(rows, "AdamW: default weight decay")
    assert (r.torch, r.jax) == (1e-2, 1e-4)
    run = _row(rows, "AdamW defaults")
    assert run.differs and run.agree_with == "optax.adamw(lr, weight_decay=0.01)"


@pytest.mark.parametrize(
    "start", ["RMSprop defaults", "Adagrad defaults", "hardtanh'", "softplus(20.5)", "abs'(0)"]
)
def test_known_differences_are_found_and_resolved(rows, start):
    r = _row(rows, start)
    assert r.differs and r.agree_with is not None
    assert r.residual <= ct.ULPS * ct.EPS64 * max(1.0, float(np.max(np.abs(r.torch))))


@pytest.mark.parametrize("start", ["relu'(0)", "elu'(0)", "Adam defaults", "SGD momentum"])
def test_same_conventions_are_not_listed_as_differences(rows, start):
    assert not _row(rows, start).differs


@pytest.mark.parametrize("part", ["weight", "bias"])
def test_dense_init_statistics_differ_and_the_setting_matches_torch(rows, part):
    r = next(r for w, r in rows.items() if w.startswith("nn.Linear vs") and f" {part} " in w)
    # max |w| reaches the bound 1/sqrt(fan_in) within ~1/n of it (250,000 weights, 250 biases)
    rel = 1e-3 if part == "weight" else 1e-2
    assert float(r.torch[1]) == pytest.approx(1 / np.sqrt(1000), rel=rel)
    assert r.differs and r.agree_with is not None


def test_a_setting_that_does_not_close_the_gap_is_not_listed():
    import jax.numpy as jnp

    from nnparity.reference.jax import precision

    probe = ct.Probe(
        "gelu(1), a wrong fix",
        lambda: ct.torch_value(__import__("torch").nn.GELU(), [1.0]),
        lambda: ct.jax_value(jax.nn.gelu, [1.0]),
        "jnp.tanh (not a fix)",
        jax_set=lambda: ct.jax_value(jnp.tanh, [1.0]),
    )
    with precision("float64"):
        row = ct.measure(probe)
    assert row.differs and row.setting and row.agree_with is None and row.residual > 0.05


def test_sampled_statistics_use_the_relative_tolerance():
    far = ct.Probe("s", lambda: np.array([1.0]), lambda: np.array([1.05]), rel_tol=0.02)
    near = ct.Probe("s", lambda: np.array([1.0]), lambda: np.array([1.01]), rel_tol=0.02)
    assert ct.measure(far).differs and not ct.measure(near).differs


def test_cli_table_and_json(rows, monkeypatch, capsys):
    monkeypatch.setattr(ct, "conventions_table", lambda: list(rows.values()))
    assert main(["conventions", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data and all(d["differs"] for d in data)
    gelu = next(d for d in data if d["what"].startswith("gelu(1)"))
    assert gelu["agree_with"] == "jax.nn.gelu(x, approximate=False)"
    assert main(["conventions", "--all", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == len(rows) > len(data)
    assert main(["conventions"]) == 0
    out = capsys.readouterr().out
    assert "agree with" in out and "\nleaky_relu'(0)" in out and "\nrelu'(0)" not in out
