"""Benchmarks: scratch against PyTorch, measured in one process at one explicit thread count per
size (both libraries), as paired interleaved samples: each repeat times a block of scratch steps
then a block of torch steps, and the ratio of the pair is one sample. Every figure is a ratio
against something measured in the same run; the medians and the spread of the samples are
reported, and a figure that cannot be true (a rate above the measured peak, a ratio below its
bound) is flagged as noise instead of printed as a finding."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

SIZES = (
    ("3-4-1", 4),
    ("64-128-128-10", 64),
    ("784-1024-1024-10", 256),
    ("4096-4096-4096", 512),
)
SAMPLE_S = 0.15  # seconds per engine sample: one call of 16 tiny specs (~25 ms) is too few
NOISE = 0.05  # a ratio this far below its bound, or a peak share this far above 1, is noise


def threads_for_size(sizes: str, batch: int) -> int:
    """The thread count both libraries get at this size: the engine's own rule (1 thread below
    2^30 multiply-adds in the largest layer), else every core."""
    from nnparity.reference.threads import SMALL_WORK

    dims = [int(d) for d in sizes.split("-")]
    work = max(batch * a * b for a, b in zip(dims[:-1], dims[1:], strict=False))
    return 1 if work < SMALL_WORK else (os.cpu_count() or 1)


def paired(
    fns: dict[str, Callable[[], Any]], repeats: int, number: int, warm: bool = False
) -> dict[str, list[float]]:
    """Seconds per call of each fn, one sample per repeat: blocks of ``number`` calls, the fns
    interleaved within each repeat so that a sample's pair saw the same machine. ``warm``: each
    block follows one untimed call of its own fn, so a step is timed as it runs in training,
    right after a step of its own. (Interleaved alone, a 4096 step followed a second of the
    other fns' work; on the development VM, whose host takes back memory freed that long, the
    step then faulted its new weights in afresh: scratch over its bound 1.106 against 1.024
    warm, torch 5% slower, in ten paired repeats each.)"""
    samples: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            if warm:
                fn()
            t = time.perf_counter()
            for _ in range(number):
                fn()
            samples[k].append((time.perf_counter() - t) / number)
    return samples


def ratio_stats(num: list[float], den: list[float]) -> dict[str, float]:
    """Median, lowest and highest of the paired ratios num_i / den_i."""
    r = [a / b for a, b in zip(num, den, strict=True)]
    return {"median": statistics.median(r), "low": min(r), "high": max(r)}


def step_flops(sizes: tuple[int, ...], batch: int) -> float:
    """Forward 2BIO per layer, backward 4BIO (dW and da; the first layer skips da)."""
    layers = list(zip(sizes[:-1], sizes[1:], strict=False))
    return sum(6.0 * batch * i * o for i, o in layers) - 2.0 * batch * layers[0][0] * layers[0][1]


def gemm_shapes(sizes: tuple[int, ...], batch: int) -> list[tuple[int, int, int]]:
    """(m, k, n) of each GEMM of a step: per layer forward a @ W (B, I, O), dW = a.T @ dz
    (I, B, O) and, past the first layer, da = dz @ W.T (B, O, I)."""
    out = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=False)):
        out += [(batch, n_in, n_out), (n_in, batch, n_out)]
        if i > 0:
            out.append((batch, n_out, n_in))
    return out


def step_layouts(sizes: tuple[int, ...]) -> list[tuple[bool, bool]]:
    """Per GEMM of ``gemm_shapes``, whether each operand is a transposed view in scratch's
    batch-major step: forward ``a @ W``, dW ``a.T @ dz``, da ``dz @ W.T``."""
    per = [(False, False), (True, False), (False, True)]
    return [t for i in range(len(sizes) - 1) for t in per[: 2 if i == 0 else 3]]


def step_gemms(sizes: tuple[int, ...], batch: int, dtype: str) -> Callable[[], None]:
    """The step's own GEMMs (``gemm_shapes``) in NumPy, on operands laid out as scratch's step
    has them (``step_layouts``)."""
    return gemms(gemm_shapes(sizes, batch), dtype, step_layouts(sizes))


def update_shapes(sizes: tuple[int, ...]) -> list[tuple[int, ...]]:
    """The shape of every weight and bias of the dense stack ``sizes``."""
    return [s for i, o in zip(sizes[:-1], sizes[1:], strict=False) for s in ((i, o), (o,))]


def step_update(sizes: tuple[int, ...], dtype: str) -> Callable[[], None]:
    """The least an update can do: one in-place pass ``p += g`` over every weight and bias
    (read both, write p: the traffic of torch's ``add_``). With the GEMMs it is the bound: work
    no step can skip, whatever it computes around them."""
    pairs = [(np.ones(s, dtype), np.full(s, 0.0, dtype)) for s in update_shapes(sizes)]

    def run() -> None:
        for p, g in pairs:
            np.add(p, g, out=p)

    return run


def gemm_operands(
    shapes: list[tuple[int, int, int]],
    dtype: str,
    transposed: list[tuple[bool, bool]] | None = None,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Random (m, k) and (k, n) operands per shape; where ``transposed`` says so for a shape,
    that operand is the transpose of a C-ordered array (the view ``x.T``, as a batch-major
    backward hands it to the GEMM)."""
    rng = np.random.default_rng(0)
    ops = []
    for (m, k, n), (ta, tb) in zip(
        shapes, transposed or [(False, False)] * len(shapes), strict=True
    ):
        a = rng.standard_normal((k, m) if ta else (m, k)).astype(dtype)
        b = rng.standard_normal((n, k) if tb else (k, n)).astype(dtype)
        ops.append((a.T if ta else a, b.T if tb else b))
    return ops


def gemms(
    shapes: list[tuple[int, int, int]],
    dtype: str,
    transposed: list[tuple[bool, bool]] | None = None,
) -> Callable[[], None]:
    """A function computing one product per shape of ``gemm_operands``."""
    ops = gemm_operands(shapes, dtype, transposed)

    def run() -> None:
        for a, b in ops:
            a @ b

    return run


class StepPair(NamedTuple):
    """One training step on each side from the same weights and data; each call advances that
    side's own weights, which ``*_params()`` read back in scratch's layout."""

    spec: Any
    scratch_step: Callable[[], None]
    torch_step: Callable[[], None]
    scratch_params: Callable[[], dict[str, np.ndarray]]
    torch_params: Callable[[], dict[str, np.ndarray]]


def step_pair(sizes: str, batch: int, dtype: str) -> StepPair:
    """The paired step at ``sizes`` (tanh hidden layers, MSE, SGD) and ``batch``."""
    from nnparity.reference.twin import Twin
    from nnparity.scratch import Spec, build, make_data

    n = len(sizes.split("-")) - 1
    spec = Spec.parse(
        f"{sizes} {','.join(['tanh'] * (n - 1) + ['identity'])} loss=mse "
        f"opt=sgd(lr=1e-6) dtype={dtype} batch={batch}"
    )
    net = build(spec)
    params = net.init_params()
    state = net.init_state(params)
    X, y = make_data(spec)
    twin = Twin(spec)
    twin.set_params(params)
    Xt, yt = twin.tensors(X, y)

    def torch_step() -> None:
        twin.optimizer.zero_grad(set_to_none=True)
        twin.loss_fn(twin.module(Xt), yt).backward()
        twin.optimizer.step()

    box = [params, state]

    def scratch_step() -> None:
        box[0], box[1], _ = net.train_step(box[0], box[1], X, y)

    return StepPair(spec, scratch_step, torch_step, lambda: box[0], twin.get_params)


def train_step_ratio(sizes: str, batch: int, dtype: str, repeats: int) -> dict[str, Any]:
    """One scratch train_step against one PyTorch step (same spec, weights, data and threads),
    and the bound: the step's GEMMs and one pass over its weights (``step_update``) in NumPy,
    over the torch step, paired likewise; ``over_bound`` is scratch over that bound."""
    from nnparity.reference.threads import limited

    threads = threads_for_size(sizes, batch)
    with limited(threads):
        spec, scratch_step, torch_step, _, _ = step_pair(sizes, batch, dtype)
        flops = step_flops(spec.sizes, batch)
        number = 1 if flops > 1e9 else min(2000, max(1, int(2e8 // max(flops, 1))))
        fns = {
            "scratch": scratch_step,
            "torch": torch_step,
            "gemms": step_gemms(spec.sizes, batch, dtype),
            "update": step_update(spec.sizes, dtype),
        }
        paired(fns, 1, number)  # warm-up: first-touch pages, thread pools, caches
        s = paired(fns, repeats, number, warm=number == 1)  # a block of more is warm anyway
    least = [g + u for g, u in zip(s["gemms"], s["update"], strict=True)]
    ratio = ratio_stats(s["scratch"], s["torch"])
    bound = ratio_stats(least, s["torch"])
    scratch_s = statistics.median(s["scratch"])
    return {
        "spec": f"{sizes} b{batch}",
        "dtype": dtype,
        "threads": threads,
        "scratch_s": scratch_s,
        "torch_s": statistics.median(s["torch"]),
        "gemms_s": statistics.median(s["gemms"]),
        "ratio": ratio["median"],
        "ratio_low": ratio["low"],
        "ratio_high": ratio["high"],
        "bound": bound["median"],
        "over_bound": ratio_stats(s["scratch"], least)["median"],
        "gemm_share": statistics.median(s["gemms"]) / scratch_s,
        "update_share": statistics.median(s["update"]) / scratch_s,
        "gflop": flops / 1e9,
        "noisy": ratio["median"] < bound["median"] * (1 - NOISE)
        or statistics.median(least) > scratch_s * (1 + NOISE),
    }


def engine_throughput(repeats: int) -> dict[str, Any]:
    """Configurations per second of ``run_parity`` (1 step, no oracle or finite differences) on
    tiny specs against its floor (twin build + weight copy + torch step + read-back + scratch
    step, nothing compared), all at one thread; and the cost of the engine's thread handling:
    a limit entered per call (what it does) against one outer limit around all calls."""
    from nnparity.reference.engine import run_parity
    from nnparity.reference.matrix import matrix
    from nnparity.reference.threads import limited
    from nnparity.reference.twin import Twin
    from nnparity.scratch import build, make_data

    specs = [s.replace(dtype="float64") for s in matrix("quick")[:16]]
    data = {s: make_data(s) for s in specs}

    def floor() -> None:
        for s in specs:
            net = build(s)
            p = net.init_params()
            twin = Twin(s)
            twin.set_params(p)
            twin.step(*twin.tensors(*data[s]))
            net.train_step(p, net.init_state(p), *data[s])

    def engine(threads: Any) -> None:
        for s in specs:
            run_parity(s, 1, oracle=False, finite_differences=False, threads=threads, data=data[s])

    def outer() -> None:
        with limited(1):
            engine(None)

    def per_call() -> None:
        engine("auto")

    def floor_1() -> None:
        with limited(1):
            floor()

    fns = {"floor": floor_1, "engine": per_call, "outer": outer}
    t = time.perf_counter()
    paired(fns, 1, 1)  # warm-up, and the time of one call of each
    number = max(1, round(SAMPLE_S * 3 / (time.perf_counter() - t)))
    s = paired(fns, repeats, number)
    n = len(specs)
    vs_floor = ratio_stats(s["floor"], s["engine"])
    handling = ratio_stats(s["engine"], s["outer"])
    return {
        "floor_cps": n / statistics.median(s["floor"]),
        "engine_cps": n / statistics.median(s["engine"]),
        "engine_vs_floor": vs_floor["median"],
        "engine_vs_floor_low": vs_floor["low"],
        "engine_vs_floor_high": vs_floor["high"],
        "thread_handling_cost": handling["median"] - 1,
        "noisy": vs_floor["median"] > 1 + NOISE,
    }


def gradcheck_ratio(fast: bool, repeats: int) -> dict[str, Any]:
    """torch.autograd.gradcheck of a ~10k-parameter twin against one parity step of the same
    network, both warm and at one thread. They verify different things: gradcheck holds
    PyTorch's autograd gradients to finite differences (of PyTorch's own function); a parity
    step holds scratch's forward, loss, gradients, update and optimizer state to PyTorch's."""
    import torch

    from nnparity.reference.engine import run_parity
    from nnparity.reference.threads import limited
    from nnparity.reference.twin import Twin
    from nnparity.scratch import Spec, build, make_data

    spec = Spec.parse("32-128-48-10 tanh,tanh,identity loss=cross_entropy batch=16")
    n_params = sum(v.size for v in build(spec).init_params().values())
    X, y = make_data(spec)
    twin = Twin(spec)
    twin.set_params(build(spec).init_params())
    names = [n for n, _ in twin.module.named_parameters()]
    leaves = [p.detach().clone().requires_grad_(True) for p in twin.module.parameters()]
    Xt, yt = twin.tensors(X, y)

    def loss(*ps: torch.Tensor) -> torch.Tensor:
        out = torch.func.functional_call(twin.module, dict(zip(names, ps, strict=True)), (Xt,))
        return twin.loss_fn(out, yt)

    ok: list[bool] = []
    with limited(1):
        torch.autograd.gradcheck(loss, leaves, fast_mode=True)  # warm-up
        run_parity(spec, 1, finite_differences=False, threads=None)
        fns = {
            "gradcheck": lambda: ok.append(torch.autograd.gradcheck(loss, leaves, fast_mode=fast)),
            "parity": lambda: run_parity(spec, 1, finite_differences=False, threads=None),
        }
        s = paired(fns, repeats if fast else 1, 1)
    r = ratio_stats(s["gradcheck"], s["parity"])
    return {
        "params": n_params,
        "gradcheck_s": statistics.median(s["gradcheck"]),
        "gradcheck_ok": all(ok),
        "parity_s": statistics.median(s["parity"]),
        "ratio": r["median"],
        "fast_mode": fast,
        "threads": 1,
    }


def cli_start(args: list[str], repeats: int = 5) -> float:
    """Best wall time (s) of ``nnparity ARGS`` in a fresh interpreter."""
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "nnparity.reports.cli", *args], capture_output=True, check=True
        )
        best = min(best, time.perf_counter() - t)
    return best


def changes(old: dict[str, Any], new: dict[str, Any]) -> list[dict[str, Any]]:
    """Row by row, the change from an earlier ``bench --json`` to this one: the train and
    layered steps' ratios (lower is better), the engine's share of its floor and its rate
    (higher is better)."""
    rows = []
    for key in ("train_step", "layered_step"):
        before = {(r["spec"], r["dtype"]): r for r in old.get(key, [])}
        for r in new.get(key, []):
            o = before.get((r["spec"], r["dtype"]))
            if o is not None:
                spec = r["spec"] if len(r["spec"]) <= 40 else r["spec"][:36] + " ..."
                what = f"{spec} {r['dtype']}: scratch / torch"
                rows.append(_change(what, o["ratio"], r["ratio"], lower=True))
    if "engine" in old and "engine" in new:
        for key, what in (
            ("engine_vs_floor", "engine: share of floor"),
            ("engine_cps", "engine: configs/s"),
        ):
            rows.append(_change(what, old["engine"][key], new["engine"][key], lower=False))
    return rows


def _change(what: str, old: float, new: float, lower: bool) -> dict[str, Any]:
    rel = new / old - 1 if old else float("nan")
    worse = rel > NOISE if lower else rel < -NOISE
    better = rel < -NOISE if lower else rel > NOISE
    verdict = "worse" if worse else "better" if better else "same (within 5%)"
    return {"what": what, "before": old, "now": new, "change": rel, "verdict": verdict}
