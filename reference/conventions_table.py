"""The conventions table: where PyTorch's and JAX/optax/flax's OWN DEFAULTS differ, measured.

Each ``Probe`` runs both frameworks with their defaults on probe inputs (an activation and its
gradient at a kink, a default read from a signature and its effect, 50 optimizer steps on a fixed
gradient sequence, the statistics of a large draw of a default initializer) and, when it names a
setting, runs that setting too. A ``Row`` holds what was measured: both values, the size of the
difference, and the setting with the difference that remains under it. The table says "agree
with: SETTING" only when that remaining difference vanishes: below 16 float64 ulps of the
values' magnitude, or for sampled statistics (initializers, whose random streams cannot be
matched) below the probe's relative sampling tolerance. Nothing in a row is typed in: the only
hand-written part is the list of probes (what to run, and which setting to try).

Everything runs in float64 (JAX inside ``precision('float64')``, the caller's x64 switch is left
as found), on CPU; needs the extra ``nnparity[jax]``.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

ULPS = 16  # round-off allowance, in float64 ulps of the values' magnitude
EPS64 = float(np.finfo(np.float64).eps)


@dataclass(frozen=True)
class Probe:
    """``torch()`` and ``jax()`` measure each framework's default; ``setting`` names what makes
    them agree, and ``torch_set`` / ``jax_set`` measure it (either defaults to the plain
    measurement). ``rel_tol`` > 0 marks a sampled statistic: the relative tolerance."""

    what: str
    torch: Callable[[], Any]
    jax: Callable[[], Any]
    setting: str | None = None
    torch_set: Callable[[], Any] | None = None
    jax_set: Callable[[], Any] | None = None
    rel_tol: float = 0.0


@dataclass(frozen=True)
class Row:
    what: str
    torch: Any
    jax: Any
    difference: float  # max |torch - jax| (nan: not numbers, e.g. dtypes that differ)
    differs: bool
    setting: str | None  # the setting tried
    residual: float | None  # the difference under that setting
    agree_with: str | None  # the setting, only when the residual vanished

    def shown(self) -> tuple[Any, Any]:
        """(torch, jax) for display: the values themselves when there are at most three,
        else the pair where they differ most, with its index: "v [i of n]"."""
        return _shown(self.torch, self.jax)

    def as_dict(self) -> dict[str, Any]:
        t, j = self.shown()
        return {
            "what": self.what,
            "torch": t,
            "jax": j,
            "difference": self.difference,
            "differs": self.differs,
            "setting_tried": self.setting,
            "difference_with_setting": self.residual,
            "agree_with": self.agree_with,
        }


def _plain(v: Any) -> Any:
    if isinstance(v, np.ndarray):
        return [float(x) for x in v.reshape(-1)] if v.size > 1 else float(v.reshape(-1)[0])
    return v


def _shown(t: Any, j: Any) -> tuple[Any, Any]:
    if not isinstance(t, np.ndarray) or t.size <= 3 or np.shape(j) != t.shape:
        return _plain(t), _plain(j)
    d = np.abs(t.astype(np.float64) - np.asarray(j, dtype=np.float64)).reshape(-1)
    i = int(np.nanargmax(d)) if np.isfinite(d).any() else 0
    at = f" [{i} of {t.size}]"
    return f"{float(t.reshape(-1)[i]):.10g}{at}", f"{float(np.asarray(j).reshape(-1)[i]):.10g}{at}"


def _compare(a: Any, b: Any, rel_tol: float) -> tuple[float, bool]:
    """(max |a - b|, whether they differ beyond round-off or the sampling tolerance)."""
    if isinstance(a, str) or isinstance(b, str):
        return (0.0, False) if a == b else (math.nan, True)
    a64, b64 = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a64.shape != b64.shape:
        return math.nan, True
    d = float(np.max(np.abs(a64 - b64))) if a64.size else 0.0
    mag = max(float(np.max(np.abs(a64), initial=0.0)), float(np.max(np.abs(b64), initial=0.0)))
    if rel_tol:
        return d, d > rel_tol * mag
    return d, d > ULPS * EPS64 * max(mag, EPS64)


def measure(probe: Probe) -> Row:
    """Run one probe: both defaults, then the setting (if any)."""
    t, j = probe.torch(), probe.jax()
    d, differs = _compare(t, j, probe.rel_tol)
    residual, agree = None, None
    if probe.setting is not None:
        ts = probe.torch_set() if probe.torch_set else t
        js = probe.jax_set() if probe.jax_set else j
        residual, still = _compare(ts, js, probe.rel_tol)
        agree = None if still else probe.setting
    return Row(probe.what, t, j, d, differs, probe.setting, residual, agree)


def conventions_table(probes: list[Probe] | None = None) -> list[Row]:
    """Every probe measured (``PROBES`` by default), in order."""
    from nnparity.reference.jax import precision

    with precision("float64"):
        return [measure(p) for p in (PROBES if probes is None else probes)]


# -- helpers the probes use -------------------------------------------------------------------
def default(fn: Any, name: str) -> Any:
    """The default of argument ``name`` in ``fn``'s signature, as the library declares it."""
    value = inspect.signature(fn).parameters[name].default
    if value is inspect.Parameter.empty:
        return "required"
    return value


def _t(x: Any) -> Any:
    import torch

    return torch.tensor(np.asarray(x, dtype=np.float64), requires_grad=True)


def torch_value(f: Callable, x: Any) -> np.ndarray:
    return f(_t(x)).detach().numpy()


def torch_grad(f: Callable, x: Any) -> np.ndarray:
    """d/dx of sum f(x) by torch autograd: the derivative each element gets."""
    xt = _t(x)
    f(xt).sum().backward()
    return xt.grad.numpy()


def jax_value(f: Callable, x: Any) -> np.ndarray:
    import jax.numpy as jnp

    return np.asarray(f(jnp.asarray(np.asarray(x, dtype=np.float64))))


def jax_grad(f: Callable, x: Any) -> np.ndarray:
    import jax
    import jax.numpy as jnp

    return np.asarray(jax.grad(lambda v: f(v).sum())(jnp.asarray(np.asarray(x, np.float64))))


# a fixed gradient sequence and start point for the optimizer probes
_RNG_SEED, _STEPS, _SIZE = 0, 50, 8


def _grads() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(_RNG_SEED)
    return rng.standard_normal(_SIZE), rng.standard_normal((_STEPS, _SIZE))


def torch_run(make: Callable[[list], Any]) -> np.ndarray:
    """The parameters after 50 steps of ``make([p])`` on the fixed gradient sequence."""
    import torch

    p0, gs = _grads()
    p = torch.tensor(p0, requires_grad=True)
    opt = make([p])
    for g in gs:
        p.grad = torch.tensor(g)
        opt.step()
    return p.detach().numpy().copy()


def optax_run(tx: Any) -> np.ndarray:
    """The parameters after 50 steps of the optax transformation ``tx`` on the same sequence."""
    import jax.numpy as jnp
    import optax

    p0, gs = _grads()
    p = jnp.asarray(p0)
    state = tx.init(p)
    for g in gs:
        updates, state = tx.update(jnp.asarray(g), state, p)
        p = optax.apply_updates(p, updates)
    return np.asarray(p)


_DRAW = (1000, 250)  # (fan_in, fan_out): 250,000 weights per draw


def torch_linear_stats(part: str) -> np.ndarray:
    """(std, max |w|) of ``nn.Linear(fan_in, fan_out)``'s default weight or bias."""
    import torch

    torch.manual_seed(0)
    lin = torch.nn.Linear(*_DRAW, dtype=torch.float64)
    w = (lin.weight if part == "weight" else lin.bias).detach().numpy()
    return np.array([w.std(), np.abs(w).max()])


def jax_dense_stats(part: str, init: Callable | None = None) -> np.ndarray:
    """(std, max |w|) of the default kernel (in, out) or bias of a JAX dense layer: flax's
    ``nn.Dense`` when flax is installed, else ``jax.example_libraries.stax.Dense``; ``init``
    replaces the default."""
    import jax
    import jax.numpy as jnp

    key = jax.random.PRNGKey(0)
    shape = _DRAW if part == "weight" else (_DRAW[1],)
    if init is None:
        init = _dense_default(part)
    w = np.asarray(init(key, shape, jnp.float64))
    return np.array([w.std(), np.abs(w).max()])


def dense_name() -> str:
    try:
        import flax.linen  # noqa: F401

        return "flax.linen.Dense"
    except ImportError:
        return "jax stax.Dense (flax not installed)"


def _dense_default(part: str) -> Callable:
    arg = "kernel_init" if part == "weight" else "bias_init"
    try:
        import flax.linen as fnn

        return fnn.Dense.__dataclass_fields__[arg].default
    except ImportError:
        from jax.example_libraries import stax

        return default(stax.Dense, "W_init" if part == "weight" else "b_init")


def _torch_uniform_bound() -> Callable:
    """JAX's equivalent of torch's Linear bias default: U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    import jax

    bound = 1.0 / math.sqrt(_DRAW[0])
    return lambda key, shape, dtype: jax.random.uniform(key, shape, dtype, -bound, bound)


# -- the probes ---------------------------------------------------------------------------------
def _probes() -> list[Probe]:
    import jax
    import jax.numpy as jnp
    import optax
    import torch
    import torch.nn.functional as F

    nn = torch.nn
    probes: list[Probe] = []
    add = probes.append

    # activations: values and gradients where the conventions part
    add(
        Probe(
            "gelu(1): default approximation",
            lambda: torch_value(nn.GELU(), [1.0]),
            lambda: jax_value(jax.nn.gelu, [1.0]),
            "jax.nn.gelu(x, approximate=False)",
            jax_set=lambda: jax_value(lambda v: jax.nn.gelu(v, approximate=False), [1.0]),
        )
    )
    grid = np.linspace(-6.0, 6.0, 1201)
    add(
        Probe(
            "gelu on [-6, 6]: default approximation (max over the grid)",
            lambda: torch_value(nn.GELU(), grid),
            lambda: jax_value(jax.nn.gelu, grid),
            "jax.nn.gelu(x, approximate=False)",
            jax_set=lambda: jax_value(lambda v: jax.nn.gelu(v, approximate=False), grid),
        )
    )
    kink = [0.0]
    slope = default(nn.LeakyReLU, "negative_slope")
    add(
        Probe(
            "leaky_relu'(0): gradient at the kink",
            lambda: torch_grad(nn.LeakyReLU(), kink),
            lambda: jax_grad(jax.nn.leaky_relu, kink),
            f"jnp.where(x > 0, x, {slope} * x) (JAX)",
            jax_set=lambda: jax_grad(lambda v: jnp.where(v > 0, v, slope * v), kink),
        )
    )
    add(
        Probe(
            "leaky_relu: default negative slope",
            lambda: slope,
            lambda: default(jax.nn.leaky_relu, "negative_slope"),
        )
    )
    bounds = [-1.0, 1.0]
    add(
        Probe(
            "hardtanh'(-1), hardtanh'(1): gradient at the kinks",
            lambda: torch_grad(nn.Hardtanh(), bounds),
            lambda: jax_grad(jax.nn.hard_tanh, bounds),
            "jnp.where(x <= -1, -1, jnp.where(x >= 1, 1, x)) (JAX)",
            jax_set=lambda: jax_grad(
                lambda v: jnp.where(v <= -1.0, -1.0, jnp.where(v >= 1.0, 1.0, v)), bounds
            ),
        )
    )
    six = [0.0, 6.0]
    add(
        Probe(
            "relu6'(0), relu6'(6): gradient at the kinks",
            lambda: torch_grad(nn.ReLU6(), six),
            lambda: jax_grad(jax.nn.relu6, six),
        )
    )
    add(
        Probe(
            "relu'(0): gradient at the kink",
            lambda: torch_grad(nn.ReLU(), kink),
            lambda: jax_grad(jax.nn.relu, kink),
        )
    )
    add(
        Probe(
            "elu'(0): gradient at the kink",
            lambda: torch_grad(nn.ELU(), kink),
            lambda: jax_grad(jax.nn.elu, kink),
        )
    )
    add(
        Probe(
            "abs'(0): gradient at the kink",
            lambda: torch_grad(torch.abs, kink),
            lambda: jax_grad(jnp.abs, kink),
            "jnp.where(x == 0, 0, jnp.abs(x)) (JAX)",
            jax_set=lambda: jax_grad(lambda v: jnp.where(v == 0, 0.0, jnp.abs(v)), kink),
        )
    )
    unit = [0.0, 1.0]
    add(
        Probe(
            "clamp/clip(x, 0, 1)' at 0 and 1: gradient at the bounds",
            lambda: torch_grad(lambda v: torch.clamp(v, 0.0, 1.0), unit),
            lambda: jax_grad(lambda v: jnp.clip(v, 0.0, 1.0), unit),
            "jnp.where(x < 0, 0, jnp.where(x > 1, 1, x)) (JAX)",
            jax_set=lambda: jax_grad(
                lambda v: jnp.where(v < 0.0, 0.0, jnp.where(v > 1.0, 1.0, v)), unit
            ),
        )
    )
    threshold = default(nn.Softplus, "threshold")
    above = [threshold + 0.5]
    add(
        Probe(
            f"softplus({above[0]}): torch's threshold (returns x above it)",
            lambda: torch_value(nn.Softplus(), above),
            lambda: jax_value(jax.nn.softplus, above),
            f"jnp.where(x > {threshold}, x, jax.nn.softplus(x)) (JAX)",
            jax_set=lambda: jax_value(
                lambda v: jnp.where(v > threshold, v, jax.nn.softplus(v)), above
            ),
        )
    )
    wide = np.linspace(-10.0, 10.0, 201)
    for name, tf, jf in (
        ("sigmoid", torch.sigmoid, jax.nn.sigmoid),
        ("silu", F.silu, jax.nn.silu),
        ("mish", F.mish, jax.nn.mish),
        ("selu", F.selu, jax.nn.selu),
    ):
        add(
            Probe(
                f"{name} on [-10, 10]: values and gradients",
                lambda tf=tf: np.concatenate([torch_value(tf, wide), torch_grad(tf, wide)]),
                lambda jf=jf: np.concatenate([jax_value(jf, wide), jax_grad(jf, wide)]),
            )
        )

    # optimizers: defaults read from the signatures, and 50 steps on a fixed gradient sequence
    rms_lr = default(torch.optim.RMSprop, "lr")
    rms_alpha = default(torch.optim.RMSprop, "alpha")
    add(
        Probe(
            "RMSprop: default decay (torch alpha, optax decay)",
            lambda: rms_alpha,
            lambda: default(optax.rmsprop, "decay"),
        )
    )
    add(
        Probe(
            f"RMSprop defaults, lr={rms_lr}: parameters after {_STEPS} steps",
            lambda: torch_run(lambda ps: torch.optim.RMSprop(ps, foreach=False)),
            lambda: optax_run(optax.rmsprop(rms_lr)),
            f"optax.rmsprop(lr, decay={rms_alpha}, eps_in_sqrt=False)",
            jax_set=lambda: optax_run(optax.rmsprop(rms_lr, decay=rms_alpha, eps_in_sqrt=False)),
        )
    )
    ada_lr = default(torch.optim.Adagrad, "lr")
    ada_init = default(torch.optim.Adagrad, "initial_accumulator_value")
    ada_eps = default(torch.optim.Adagrad, "eps")
    add(
        Probe(
            "Adagrad: default initial accumulator",
            lambda: ada_init,
            lambda: default(optax.adagrad, "initial_accumulator_value"),
        )
    )
    add(
        Probe(
            "Adagrad: default eps (torch outside the root, optax inside)",
            lambda: ada_eps,
            lambda: default(optax.adagrad, "eps"),
        )
    )
    add(
        Probe(
            f"Adagrad defaults, lr={ada_lr}: parameters after {_STEPS} steps",
            lambda: torch_run(lambda ps: torch.optim.Adagrad(ps, foreach=False)),
            lambda: optax_run(optax.adagrad(ada_lr)),
            f"optax.adagrad(lr, initial_accumulator_value={ada_init}, eps=0) "
            "with torch Adagrad(eps=0)",
            torch_set=lambda: torch_run(lambda ps: torch.optim.Adagrad(ps, eps=0.0, foreach=False)),
            jax_set=lambda: optax_run(
                optax.adagrad(ada_lr, initial_accumulator_value=ada_init, eps=0.0)
            ),
        )
    )
    wd = default(torch.optim.AdamW, "weight_decay")
    adamw_lr = default(torch.optim.AdamW, "lr")
    add(
        Probe(
            "AdamW: default weight decay",
            lambda: wd,
            lambda: default(optax.adamw, "weight_decay"),
        )
    )
    add(
        Probe(
            f"AdamW defaults, lr={adamw_lr}: parameters after {_STEPS} steps",
            lambda: torch_run(lambda ps: torch.optim.AdamW(ps, foreach=False)),
            lambda: optax_run(optax.adamw(adamw_lr)),
            f"optax.adamw(lr, weight_decay={wd})",
            jax_set=lambda: optax_run(optax.adamw(adamw_lr, weight_decay=wd)),
        )
    )
    adam_lr = default(torch.optim.Adam, "lr")
    add(
        Probe(
            f"Adam defaults, lr={adam_lr}: parameters after {_STEPS} steps",
            lambda: torch_run(lambda ps: torch.optim.Adam(ps, foreach=False)),
            lambda: optax_run(optax.adam(adam_lr)),
        )
    )
    add(
        Probe(
            f"SGD momentum=0.9, lr={adam_lr}: parameters after {_STEPS} steps",
            lambda: torch_run(
                lambda ps: torch.optim.SGD(ps, lr=adam_lr, momentum=0.9, foreach=False)
            ),
            lambda: optax_run(optax.sgd(adam_lr, momentum=0.9)),
        )
    )
    add(
        Probe(
            "SGD: default learning rate",
            lambda: default(torch.optim.SGD, "lr"),
            lambda: default(optax.sgd, "learning_rate"),
        )
    )

    # default initializers of a dense layer: statistics of a large draw (streams differ)
    fan_in = _DRAW[0]
    for part, setting, init in (
        (
            "weight",
            "jax.nn.initializers.variance_scaling(1/3, 'fan_in', 'uniform')",
            lambda: jax.nn.initializers.variance_scaling(1 / 3, "fan_in", "uniform"),
        ),
        (
            "bias",
            f"jax.random.uniform(key, shape, minval=-1/sqrt({fan_in}), maxval=1/sqrt({fan_in}))",
            _torch_uniform_bound,
        ),
    ):
        add(
            Probe(
                f"nn.Linear vs {dense_name()}: default {part} init "
                f"({fan_in}->{_DRAW[1]}), (std, max |w|)",
                lambda part=part: torch_linear_stats(part),
                lambda part=part: jax_dense_stats(part),
                setting,
                jax_set=lambda part=part, init=init: jax_dense_stats(part, init()),
                rel_tol=0.02,
            )
        )

    # dtypes: a float64 NumPy array handed to each framework, x64 as JAX ships it (off)
    def jax_dtype() -> str:
        with jax.enable_x64(False):
            return str(jnp.asarray(np.zeros(1)).dtype)

    def jax_dtype_x64() -> str:
        with jax.enable_x64(True):
            return str(jnp.asarray(np.zeros(1)).dtype)

    add(
        Probe(
            "dtype of a float64 NumPy array converted (JAX with x64 off, its default)",
            lambda: str(torch.from_numpy(np.zeros(1)).dtype).replace("torch.", ""),
            jax_dtype,
            'jax.config.update("jax_enable_x64", True) or the jax.enable_x64 context',
            jax_set=jax_dtype_x64,
        )
    )
    return probes


class _Probes:
    """``PROBES``: built on first use (torch, jax and optax are imported then)."""

    def __iter__(self):  # noqa: ANN204
        return iter(_probes())


PROBES: Any = _Probes()
