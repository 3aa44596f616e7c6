"""Which configurations a report sweeps: a named matrix (quick, default, full) or a TOML file.

A matrix file chooses the axes and the design; every key is optional::

    # my-matrix.toml
    design = "covering"        # covering (every activation x initializer pair, default),
                               # product (every combination) or quick (each variant once)
    activations = ["relu", "tanh", "leaky_relu(slope=0.2)"]
    initializers = ["xavier_uniform", "kaiming_normal"]
    losses = ["mse", "cross_entropy"]
    optimizers = ["sgd(lr=0.1)", "adam(lr=0.01)"]
    dtypes = ["float32", "float64"]
    sizes = [4, 6, 5]          # input and hidden widths; the output width follows the loss
    batch = 8
    seed = 0                   # seed of the first spec (the k-th gets seed + k)
    steps = 5                  # training steps per configuration
    modes = ["free", "resync"]
    specs = ["3-4-1 tanh,sigmoid loss=bce opt=sgd(lr=0.1)"]  # extra specs, run as written
    layers = ["1x6x6 conv(2,k=3) {act} maxpool(2) flatten"]  # layered bodies ({act}: the
                               # row's activation), closed by dense(width) and the output

An axis left out takes every registered variant (``nnparity list``); the layer axis is empty
unless ``layers`` is given (``--matrix default`` has the built-in one). ``--seed`` and
``--steps`` on the command line override the file.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nnparity.scratch import Spec, SpecError
from nnparity.scratch.errors import did_you_mean

MODES = ("free", "resync")
DESIGNS = ("covering", "product", "quick")
NAMED = {"quick": "quick", "default": "covering", "full": "product"}
AXES = ("activations", "initializers", "losses", "optimizers", "dtypes")
KEYS = (*AXES, "design", "sizes", "batch", "seed", "steps", "modes", "specs", "layers")


@dataclass(frozen=True)
class Plan:
    """The specs to sweep, and how: ``steps`` training steps in each of ``modes``."""

    name: str
    specs: tuple[Spec, ...]
    steps: int
    modes: tuple[str, ...] = MODES
    seed: int = 0


def _toml(path: Path) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    try:
        data = path.read_bytes()
    except OSError as e:
        raise SpecError(f"cannot read matrix file {str(path)!r}: {e.strerror}") from None
    try:
        text = data.decode("utf-8-sig")  # a byte-order mark some editors write is dropped
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise SpecError(
            f"matrix file {str(path)!r} is not UTF-8 text (byte 0x{data[e.start]:02x} on line "
            f"{line}); save it as UTF-8"
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise SpecError(f"matrix file {str(path)!r} is not valid TOML: {e}") from None


def _strings(data: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    v = data[key]
    if not isinstance(v, list) or not v or not all(isinstance(x, str) for x in v):
        raise SpecError(f"{where}: {key} must be a non-empty list of strings, got {v!r}")
    return tuple(dict.fromkeys(v))


def _int(data: dict[str, Any], key: str, where: str, low: int) -> int | None:
    if key not in data:
        return None
    v = data[key]
    if isinstance(v, bool) or not isinstance(v, int) or v < low:
        raise SpecError(f"{where}: {key} must be an integer >= {low}, got {v!r}")
    return v


def load(path: str | Path, seed: int | None = None, steps: int | None = None) -> Plan:
    """Read a TOML matrix file; ``seed`` and ``steps`` (when given) override the file's."""
    from nnparity.reference.matrix import Axes, covering, product, quick

    path = Path(path)
    where = f"matrix file {str(path)!r}"
    data = _toml(path)
    for key in data:
        if key not in KEYS:
            raise SpecError(
                f"{where}: unknown key {key!r}{did_you_mean(key, list(KEYS))} "
                f"Known keys: {', '.join(KEYS)}"
            )
    design = data.get("design", "covering")
    if design not in DESIGNS:
        raise SpecError(f"{where}: design must be one of {', '.join(DESIGNS)}, got {design!r}")
    axes: dict[str, Any] = {k: _strings(data, k, where) for k in AXES if k in data}
    if "sizes" in data:
        sizes = data["sizes"]
        if not isinstance(sizes, list) or not sizes or not all(_pos(s) for s in sizes):
            raise SpecError(f"{where}: sizes must be a list of integers >= 1, got {sizes!r}")
        axes["sizes"] = tuple(sizes)
    # the layer axis only when the file names it: "{act}" stands for the row's activation
    axes["layers"] = (
        tuple((b, None) for b in _strings(data, "layers", where)) if "layers" in data else ()
    )
    axes["margin_losses"] = ()  # the built-in margin rows, too, only where the file lists them
    if (batch := _int(data, "batch", where, 1)) is not None:
        axes["batch"] = batch
    seed = seed if seed is not None else (_int(data, "seed", where, 0) or 0)
    axes["seed"] = seed
    steps = steps if steps is not None else (_int(data, "steps", where, 1) or 5)
    modes = _strings(data, "modes", where) if "modes" in data else MODES
    for m in modes:
        if m not in MODES:
            raise SpecError(f"{where}: modes must be among {', '.join(MODES)}, got {m!r}")
    design_fn = {"covering": covering, "product": product, "quick": quick}[design]
    generated = any(k in data for k in AXES) or "specs" not in data
    try:
        specs = design_fn(Axes(**axes)) if generated else []
        extra = [Spec.parse(s) for s in _strings(data, "specs", where)] if "specs" in data else []
    except SpecError as e:
        raise SpecError(f"{where}: {e}") from None
    return Plan(str(path), tuple(dict.fromkeys([*specs, *extra])), steps, modes, seed)


def _pos(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 1


def resolve(matrix: str, seed: int | None = None, steps: int | None = None) -> Plan:
    """The plan for ``--matrix``: a name (quick, default, full) or a TOML file's path."""
    from nnparity.reference.matrix import Axes
    from nnparity.reference.matrix import matrix as named

    if matrix in NAMED:
        specs = named(matrix, Axes(seed=seed or 0))
        return Plan(matrix, tuple(specs), steps if steps is not None else 5, MODES, seed or 0)
    path = Path(matrix)
    if path.is_file():
        return load(path, seed, steps)
    raise SpecError(
        f"--matrix {matrix!r} is neither a matrix name ({', '.join(NAMED)}) nor a file; "
        "see 'nnparity report --help' for the TOML format"
    )
