"""Benchmarks: scratch against PyTorch, measured in one process, blocks interleaved, min of
repeats. Every figure is a ratio against something measured in the same run."""

from __future__ import annotations

import os
import platform
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


def machine() -> dict[str, Any]:
    """CPU, cores and library versions, for the table's caption."""
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if "model name" in line)
    except (OSError, StopIteration):
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": torch.__version__,
    }


def best_of(fns: dict[str, Callable[[], Any]], repeats: int, number: int) -> dict[str, float]:
    """Seconds per call of each fn: blocks of ``number`` calls, interleaved, min over repeats."""
    best = {k: float("inf") for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            t = time.perf_counter()
            for _ in range(number):
                fn()
            best[k] = min(best[k], (time.perf_counter() - t) / number)
    return best


def peak_gemm(dtype: str, n: int = 2048) -> float:
    """NumPy's own GEMM rate (GFLOP/s) on an n x n product."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n)).astype(dtype)
    b = rng.standard_normal((n, n)).astype(dtype)
    t = best_of({"mm": lambda: a @ b}, repeats=3, number=1)["mm"]
    return 2 * n**3 / t / 1e9


def step_flops(sizes: tuple[int, ...], batch: int) -> float:
    """Forward 2BIO per layer, backward 4BIO (dW and da; the first layer skips da)."""
    layers = list(zip(sizes[:-1], sizes[1:], strict=False))
    return sum(6.0 * batch * i * o for i, o in layers) - 2.0 * batch * layers[0][0] * layers[0][1]


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
    """One scratch train_step against one PyTorch step, same spec, weights and data."""
    import torch

    spec, scratch_step, torch_step, _, _ = step_pair(sizes, batch, dtype)
    big = step_flops(spec.sizes, batch) > 1e9
    number = 1 if big else max(1, int(2e8 // max(step_flops(spec.sizes, batch), 1)))
    number = min(number, 2000)
    t = best_of({"scratch": scratch_step, "torch": torch_step}, repeats, number)
    flops = step_flops(spec.sizes, batch)
    # What bounds the ratio: the largest layer's GEMM in NumPy (OpenBLAS) against torch (MKL).
    n_in, n_out = max(zip(spec.sizes[:-1], spec.sizes[1:], strict=False), key=lambda s: s[0] * s[1])
    a, w = np.ones((batch, n_in), dtype=dtype), np.ones((n_in, n_out), dtype=dtype)
    at, wt = torch.from_numpy(a), torch.from_numpy(w)
    g = best_of({"np": lambda: a @ w, "torch": lambda: at @ wt}, repeats, number)
    return {
        "spec": f"{sizes} b{batch}",
        "dtype": dtype,
        "scratch_s": t["scratch"],
        "torch_s": t["torch"],
        "ratio": t["scratch"] / t["torch"],
        "gflop": flops / 1e9,
        "scratch_gflops": flops / t["scratch"] / 1e9,
        "gemm_ratio": g["np"] / g["torch"],
    }


def engine_throughput(repeats: int) -> dict[str, Any]:
    """Configurations per second of ``run_parity`` (1 step, no oracle or finite differences) on
    tiny specs, with and without thread handling, against the floor: twin build + weight copy +
    torch step + read-back + scratch step, with nothing compared (run with one thread, as the
    engine runs tiny specs)."""
    from nnparity.reference.engine import run_parity
    from nnparity.reference.matrix import matrix
    from nnparity.reference.threads import limited
    from nnparity.reference.twin import Twin
    from nnparity.scratch import build, make_data

    specs = [s.replace(dtype="float64") for s in matrix("quick")[:16]]
    data = {s: make_data(s) for s in specs}

    def floor() -> None:
        with limited(1):
            _floor()

    def _floor() -> None:
        for s in specs:
            net = build(s)
            p = net.init_params()
            twin = Twin(s)
            twin.set_params(p)
            twin.step(*twin.tensors(*data[s]))
            net.train_step(p, net.init_state(p), *data[s])

    def engine(threads: Any) -> Callable[[], None]:
        return lambda: [
            run_parity(s, 1, oracle=False, finite_differences=False, threads=threads, data=data[s])
            for s in specs
        ]

    t = best_of(
        {"floor": floor, "engine": engine("auto"), "engine_default_threads": engine(None)},
        repeats,
        1,
    )
    n = len(specs)
    return {
        "floor_cps": n / t["floor"],
        "engine_cps": n / t["engine"],
        "engine_default_threads_cps": n / t["engine_default_threads"],
        "engine_vs_floor": t["floor"] / t["engine"],
        "thread_handling_cost": t["engine"] / t["engine_default_threads"] - 1,
    }


def gradcheck_ratio(fast: bool) -> dict[str, Any]:
    """A parity check of a ~10k-parameter network against torch.autograd.gradcheck on it."""
    import torch

    from nnparity.reference.engine import run_parity
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

    t0 = time.perf_counter()
    ok = torch.autograd.gradcheck(loss, leaves, fast_mode=fast)
    t_gc = time.perf_counter() - t0
    t_parity = best_of({"p": lambda: run_parity(spec, 1, finite_differences=False)}, 5, 1)["p"]
    return {
        "params": n_params,
        "gradcheck_s": t_gc,
        "gradcheck_ok": bool(ok),
        "parity_s": t_parity,
        "ratio": t_gc / t_parity,
        "fast_mode": fast,
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
