"""Layered steps timed against PyTorch (``nnparity bench``'s second table): a LeNet-size conv
net and a batchnorm MLP, one thread each, as paired interleaved samples (see ``bench``) on the
wall clock and on the calling thread's CPU clock, against the targets set for them."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

from .bench import gemms, paired, ratio_stats

# Layered steps and the targets set for them (scratch / torch, CPU, float32)
LAYERED = (
    (
        "1x28x28 conv(6,k=5) relu maxpool(2) conv(16,k=5) relu maxpool(2) flatten dense(120) "
        "relu dense(10) loss=cross_entropy opt=sgd(lr=0.01)",
        64,
        2.0,
    ),
    (
        "64 dense(256) batchnorm relu dense(256) batchnorm relu dense(10) loss=cross_entropy "
        "opt=sgd(lr=0.01)",
        256,
        1.0,
    ),
)


def layered_gemm_shapes(spec: Any) -> list[tuple[int, int, int]]:
    """(m, k, n) of each GEMM of a layered step as scratch computes it, the first layer's input
    gradient left out (as ``train_step`` does). dense(out) on (N, in): forward (N, in, out),
    dW (in, N, out), dx (N, out, in). conv(out, k) on (C, H, W) with P = Ho Wo positions, by
    im2col with the batch last: forward (out, C k k, P N), dW (C k k, P N, out), dcols
    (C k k, out, P N)."""
    from nnparity.scratch.spec_layers import layer_shapes

    outs = layer_shapes(spec)
    shapes, n, first = [], spec.batch, True
    for c, i, o in zip(spec.stack, [spec.in_shape, *outs], outs, strict=False):
        if c.name == "dense":
            a, b = i[0], o[0]
            shapes += [(n, a, b), (a, n, b)] + ([] if first else [(n, b, a)])
        elif c.name == "conv":
            k = c.kwargs.get("k", 0)
            ckk, pn = i[0] * k * k, o[1] * o[2] * n
            shapes += [(o[0], ckk, pn), (ckk, pn, o[0])] + ([] if first else [(ckk, o[0], pn)])
        first = False
    return shapes


def paired_cpu(
    fns: dict[str, Callable[[], Any]], repeats: int, number: int
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """``paired``, each block timed on both the wall clock and the calling thread's CPU clock
    (``time.thread_time``). On a shared machine the wall clock also counts the time other
    processes hold the core; the CPU clock does not. At one thread both libraries compute on
    the calling thread (torch runs a CPU backward there too), so the CPU clock sees all of it."""
    wall: dict[str, list[float]] = {k: [] for k in fns}
    cpu: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            t, c = time.perf_counter(), time.thread_time()
            for _ in range(number):
                fn()
            cpu[k].append((time.thread_time() - c) / number)
            wall[k].append((time.perf_counter() - t) / number)
    return wall, cpu


def layered_step_ratio(text: str, batch: int, dtype: str, repeats: int, target: float):
    """One scratch ``train_step`` of a layered spec against one PyTorch step of its twin (the
    same weights, data and dropout masks, one thread each), paired as ``train_step_ratio``,
    on the wall clock and on the thread's CPU clock."""
    from nnparity.reference.threads import limited
    from nnparity.reference.twin import Twin
    from nnparity.scratch import Spec, build, make_data

    spec = Spec.parse(f"{text} dtype={dtype} batch={batch}")
    net = build(spec)
    params = net.init_params()
    box = [params, net.init_state(params)]
    X, y = make_data(spec)
    twin = Twin(spec)
    twin.set_params(params)
    Xt, yt = twin.tensors(X, y)

    def torch_step() -> None:
        twin.optimizer.zero_grad(set_to_none=True)
        twin.loss_fn(twin.module(Xt), yt).backward()
        twin.optimizer.step()

    def scratch_step() -> None:
        box[0], box[1], _ = net.train_step(box[0], box[1], X, y)

    with limited(1):
        fns = {"scratch": scratch_step, "torch": torch_step}
        fns["gemms"] = gemms(layered_gemm_shapes(spec), dtype)
        paired(fns, 1, 3)
        s, c = paired_cpu(fns, repeats, 5)
    ratio = ratio_stats(s["scratch"], s["torch"])
    bound = ratio_stats(s["gemms"], s["torch"])
    cpu = ratio_stats(c["scratch"], c["torch"])
    head = text.split(" loss=")[0]
    return {
        "spec": f"{head} b{batch}",
        "dtype": dtype,
        "threads": 1,
        "scratch_s": statistics.median(s["scratch"]),
        "torch_s": statistics.median(s["torch"]),
        "ratio": ratio["median"],
        "ratio_low": ratio["low"],
        "ratio_high": ratio["high"],
        "cpu_scratch_s": statistics.median(c["scratch"]),
        "cpu_torch_s": statistics.median(c["torch"]),
        "cpu_ratio": cpu["median"],
        "cpu_ratio_low": cpu["low"],
        "cpu_ratio_high": cpu["high"],
        "bound": bound["median"],
        "gemm_share": statistics.median(s["gemms"]) / statistics.median(s["scratch"]),
        "target": target,
        "meets": ratio["median"] <= target,
        "meets_cpu": cpu["median"] <= target,
    }
