"""The TOML matrix file format."""

from __future__ import annotations

import pytest

from nnparity.reference.matrix import Axes, covering
from nnparity.reports.cli import main
from nnparity.reports.matrix_file import load, resolve
from nnparity.scratch import SpecError


def write(tmp_path, text: str):
    p = tmp_path / "m.toml"
    p.write_text(text)
    return p


def test_axes_and_design(tmp_path):
    p = write(
        tmp_path,
        'design = "product"\nactivations = ["relu", "tanh"]\ninitializers = ["xavier_uniform"]\n'
        'losses = ["mse"]\noptimizers = ["sgd(lr=0.1)", "adam"]\ndtypes = ["float64"]\n'
        'modes = ["resync"]\nsteps = 3\nseed = 4\nsizes = [3, 5]\nbatch = 4\n',
    )
    plan = load(p)
    assert len(plan.specs) == 2 * 2 and plan.steps == 3 and plan.modes == ("resync",)
    assert {s.sizes for s in plan.specs} == {(3, 5, 3)} and plan.specs[0].seed == 4
    assert load(p, seed=9, steps=1).specs[0].seed == 9 and load(p, steps=1).steps == 1


def test_covering_is_the_default_design(tmp_path):
    plan = load(write(tmp_path, 'activations = ["relu"]\ninitializers = ["zeros", "normal"]\n'))
    axes = Axes(
        activations=("relu",), initializers=("zeros", "normal"), layers=(), margin_losses=()
    )
    assert list(plan.specs) == covering(axes) and plan.steps == 5


def test_explicit_specs_only(tmp_path):
    plan = load(write(tmp_path, 'specs = ["3-4-1 tanh,sigmoid loss=bce", "2-2 relu"]\n'))
    assert [str(s).split()[0] for s in plan.specs] == ["3-4-1", "2-2"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('activation = ["relu"]\n', "did you mean 'activations'"),
        ('activations = ["rleu"]\n', "did you mean 'relu'"),
        ('design = "grid"\n', "design must be one of"),
        ("activations = []\n", "non-empty list of strings"),
        ('modes = ["fast"]\n', "modes must be among"),
        ("steps = 0\n", "steps must be an integer >= 1"),
        ("activations = [\n", "not valid TOML"),
        ('specs = ["3-4-1 tanh"]\n', "need 2 activation"),
    ],
)
def test_mistakes_name_the_file_and_the_fix(tmp_path, text, message):
    with pytest.raises(SpecError, match="m.toml") as e:
        load(write(tmp_path, text))
    assert message in str(e.value)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ('activations = ["r\xe9lu"]\n'.encode("latin-1"), "not UTF-8 text (byte 0xe9 on line 1)"),
        (b"\x7fELF\x02\x01\x01\x00\xd0\xff\n", "not UTF-8 text"),
    ],
)
def test_a_file_that_is_not_utf8_is_one_clear_error(tmp_path, data, message, capsys):
    p = tmp_path / "m.toml"
    p.write_bytes(data)
    with pytest.raises(SpecError, match="m.toml") as e:
        load(p)
    assert message in str(e.value) and "save it as UTF-8" in str(e.value)
    assert main(["report", "--matrix", str(p)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_a_byte_order_mark_is_accepted(tmp_path):
    p = tmp_path / "m.toml"
    p.write_bytes(b"\xef\xbb\xbf" + b'specs = ["3-4-1 tanh,sigmoid loss=bce"]\n')
    assert len(load(p).specs) == 1


def test_resolve_names_and_missing_files():
    assert resolve("quick", seed=2).specs[0].seed == 2
    assert resolve("default").steps == 5
    with pytest.raises(SpecError, match="neither a matrix name"):
        resolve("no/such/file.toml")


def test_layers_key_adds_layered_bodies_and_none_without_it(tmp_path):
    text = 'activations = ["tanh"]\ninitializers = ["normal"]\nlosses = ["mse"]\n'
    assert not any(s.layered for s in load(write(tmp_path, text)).specs)
    plan = load(write(tmp_path, text + 'layers = ["1x6x6 conv(2,k=3) {act} maxpool(2) flatten"]\n'))
    layered = [s for s in plan.specs if s.layered]
    assert layered and all(str(s).startswith("1x6x6 conv(2,k=3) tanh maxpool(2)") for s in layered)
