"""``check`` for a learner network declared with a layered spec (conv, pooling, batchnorm,
dropout): the learner's training pass and the float64 twin at the learner's weights, running
statistics and dropout masks, one step at a time (resync).

Per step: the learner's loss and every gradient (W, b, gamma, beta) against the twin's, with
the layered engine's per-element allowance (``layered_engine.bounds``: layer scale, the terms
each gradient sums); the learner's running statistics after the pass against the declared
convention's update from the twin's batch statistics (``buffers``); the learner's ``forward``
(its inference pass) against the twin in eval mode at the learner's running statistics. The
learner's weights then take the declared optimizer's step from the learner's own gradients.
The first step that parts is diagnosed (``layered_judge``); the training probe is not run.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nnparity.reference.compare import Record, compare_many
from nnparity.reference.layered_engine import _Probe, bounds
from nnparity.reference.layered_terms import abs_grads, depth_factor
from nnparity.reference.tolerance import tolerance_for
from nnparity.scratch import build

from .adapters import Adapter
from .grad_formats import as_grad
from .layered_decl import LayeredDecl
from .layered_judge import diagnose, table
from .layered_masks import read_source, recover
from .layered_reference import LayeredRef, LStep
from .paths import LearnerError, put, short
from .result import CheckResult, Finding, Training
from .runner import LearnerCrash, learner_tail

Array = np.ndarray
FLOAT32_WIDEN = 10.0


class Learner:
    """The learner's arrays in the spec's canonical names and shapes (a dense weight given
    (out, in) is transposed; a bias (1, n) or (n, 1) reshaped), and its calls."""

    def __init__(self, adapter: Adapter, decl: LayeredDecl):
        self.a, self.decl = adapter, decl
        self.names = decl.param_names()
        self.shapes = {n: v.shape for n, v in build(decl.spec).init_params().items()}
        if len(adapter.paths) != len(self.names):
            raise LearnerError(
                f"{len(adapter.paths)} parameter name(s) given ({', '.join(adapter.paths)}); the "
                f"spec's learnable arrays are {len(self.names)}, in this order: "
                f"{', '.join(self.names)}"
            )
        self.owner = decl.owner if decl.owner is not None else adapter.root
        raw = self.raw()
        for p, n, v in zip(adapter.paths, self.names, raw, strict=True):
            if not np.issubdtype(v.dtype, np.floating):
                raise LearnerError(f"{p} is {v.dtype}: use float weights")
            self.fit(n, p, v)
        self.dtype = "float32" if {v.dtype for v in raw} == {np.dtype(np.float32)} else "float64"

    def raw(self) -> list[Array]:
        out = []
        for p, v in zip(self.a.paths, self.a.values(self.a.paths), strict=True):
            if v is None:
                raise LearnerError(f"{p} is None: initialise the weights before the adapter")
            out.append(np.array(v, copy=True))
        return out

    def fit(self, name: str, path: str, v: Array) -> Array:
        want = self.shapes[name]
        if v.shape == want:
            return v.astype(np.float64)
        if v.ndim == 2 and v.T.shape == want and name.startswith("W"):
            return v.T.astype(np.float64)
        if v.size == int(np.prod(want)) and not name.startswith("W"):
            return v.reshape(want).astype(np.float64)
        raise LearnerError(
            f"{path} ({name}) has shape {v.shape}; the spec gives {name} the shape {want}"
        )

    def read(self) -> dict[str, Array]:
        return {
            n: self.fit(n, p, v)
            for n, p, v in zip(self.names, self.a.paths, self.raw(), strict=True)
        }

    def write(self, P: dict[str, Array]) -> None:
        for n, p, v in zip(self.names, self.a.paths, self.raw(), strict=True):
            new = P[n].T if v.shape != P[n].shape and v.ndim == 2 and n[0] == "W" else P[n]
            put(self.a.root, p, np.asarray(new).reshape(v.shape).astype(v.dtype))

    def buffers(self, fresh: dict[str, Array]) -> dict[str, Array] | None:
        if not self.decl.buffers:
            return None
        out = {}
        for (n, f), src in zip(fresh.items(), self.decl.buffers, strict=True):
            try:
                v = read_source(src, self.owner)
            except LearnerError:  # not there before the first pass (CS231n's bn_param)
                v = None
            out[n] = f if v is None else np.asarray(v, dtype=np.float64).reshape(f.shape)
        return out

    def step(self, k: int, X: Array, y: Array) -> tuple[float | None, dict[str, Array]]:
        """(loss or None, gradients canonical) of one training pass."""
        res = guarded(self.a.grads, k, "your training pass", X.copy(), y.copy())
        loss = None
        if self.a.grad_paths is not None:  # style (b): the layers hold the gradients
            grads = self.a.values(self.a.grad_paths)
            if isinstance(res, int | float | np.number) or np.ndim(res) == 0 and res is not None:
                loss = float(res)
        else:
            if isinstance(res, tuple | list) and len(res) == 2 and np.ndim(res[0]) == 0:
                loss, res = float(res[0]), res[1]
            if isinstance(res, dict):
                grads = [_key(res, p) for p in self.a.paths]
            else:
                grads = list(res)
        out = {}
        for n, p, g in zip(self.names, self.a.paths, grads, strict=True):
            out[n] = self.fit(n, f"{p}'s gradient", as_grad(p, g))
        return loss, out


def _key(d: dict, p: str) -> Any:
    for key in (p, short(p)):
        if key in d:
            return d[key]
    raise LearnerError(f"the gradients have no entry for {p!r}; their keys: {', '.join(d)}")


def guarded(fn: Any, k: int, what: str, *args: Any) -> Any:
    try:
        return fn(*args)
    except MemoryError:
        raise
    except Exception as e:  # noqa: BLE001 - the learner's error is a finding
        raise LearnerCrash(
            Finding(
                "learner_exception",
                (),
                None,
                k,
                f"{what} raised at step {k}:\n{learner_tail(e)}",
                "fix the error in your code (the traceback is yours)",
            )
        ) from None


def check_layered(
    adapter: Adapter,
    X: Any,
    y: Any,
    *,
    steps: int = 10,
    batch_size: int | None = None,
    rtol: float | None = None,
    atol: float | None = None,
    **_: Any,
) -> CheckResult:
    """Hold a layered learner network to its twin for ``steps`` steps (see the module doc)."""
    decl: LayeredDecl = adapter.layered
    if adapter.grads is None:
        raise LearnerError("a layered check needs your training pass: from_loss or from_layers")
    X = np.asarray(X)
    if X.shape[1:] != decl.spec.in_shape:
        raise LearnerError(
            f"X has samples of shape {X.shape[1:]}; the spec's input is {decl.spec.in_shape}"
        )
    yv = np.asarray(y)
    y_twin = yv.astype(np.int64) if decl.spec.loss.name == "cross_entropy" else yv
    learner = Learner(adapter, decl)
    saved = learner.raw()
    bs = min(batch_size or decl.batch_size or len(X), len(X))
    batches = [np.arange(i, min(i + bs, len(X))) for i in range(0, len(X), bs)]
    ref = LayeredRef(decl)
    net = build(decl.spec)
    opt_state = net.opt.init(learner.read())
    tol = tolerance_for("float64", 1, "resync", rtol, atol)
    if learner.dtype == "float32" and rtol is None:
        tol = tolerance_for("float32").widened(FLOAT32_WIDEN)
    probe = _Probe(decl.spec.replace(dtype=learner.dtype))
    records: list[Record] = []
    findings: list[Finding] = []
    notes: list[Finding] = []
    run = 0
    try:
        for k in range(1, steps + 1):
            rows = batches[(k - 1) % len(batches)]
            Xb, yb, ytb = X[rows], yv[rows], y_twin[rows]
            P = learner.read()
            fresh = decl.fresh_buffers()
            B0 = learner.buffers(fresh)
            state = adapter.rng_state()  # in the learner's process
            loss, G = learner.step(k, Xb, yb)
            B1 = learner.buffers(fresh)
            masks, fresh_masks, note = recover(
                learner, ref, P, B0 or fresh, Xb, ytb, loss, G, state
            )
            if note and k == 1:
                notes.append(note)
            T = ref.run(P, B0 or fresh, Xb, ytb, masks)
            recs = _records(decl, T, loss, G, B1, P, masks, Xb, ytb, tol, probe, k, B0 or fresh)
            if adapter.forward is not None and (B1 is not None or not fresh):
                out = guarded(adapter.forward, k, "your forward pass", Xb.copy())
                e = ref.eval(P, B1 or fresh, Xb)
                o = np.asarray(out, dtype=np.float64)
                if o.shape == e.shape and decl.spec.loss.name == "cross_entropy":
                    sm = np.exp(e - e.max(axis=1, keepdims=True))
                    sm /= sm.sum(axis=1, keepdims=True)
                    if np.allclose(o, sm, rtol=1e-6, atol=1e-9) and not np.allclose(o, e):
                        e = sm  # your forward returns softmax(logits)
                recs += compare_many(
                    [("eval", "output", o, e, None)],
                    tol,
                    spec=str(decl.spec),
                    mode="resync",
                    step=k,
                    check_dtype=False,
                )
            records += recs
            run = k
            if not all(r.passed for r in recs):
                findings = diagnose(
                    ref,
                    learner,
                    decl,
                    recs,
                    T,
                    P,
                    B0 or fresh,
                    B1,
                    masks,
                    fresh_masks,
                    Xb,
                    ytb,
                    loss,
                    G,
                    k,
                )
                break
            P2, opt_state = net.opt.update(G, opt_state, P)
            learner.write(P2)
    except LearnerCrash as e:
        findings = [e.finding]
    finally:
        for p, v in zip(adapter.paths, saved, strict=True):
            put(adapter.root, p, v)
    if decl.buffer_names() and not decl.buffers:
        notes.append(NO_BUFFERS)
    code = "implementation_bug" if findings else "match"
    return CheckResult(
        code,
        tuple(findings + notes),
        table(records, learner),
        tuple(records),
        decl.describe(bs),
        adapter.style,
        run,
        Training("not_assessed", "", "the training probe does not run on layered specs yet"),
    )


NO_BUFFERS = Finding(
    "buffers_not_compared",
    (),
    None,
    None,
    "your batchnorm's running statistics were not compared (no buffers= declared), nor your "
    "forward (inference) pass, which normalises with them",
    "declare buffers=[...] (running_mean, running_var of each batchnorm, in spec order)",
    "note",
)


def _records(decl, T: LStep, loss, G, B1, P, masks, X, y, tol, probe, k, B0) -> list[Record]:  # noqa: ANN001
    """loss, grads (with the layered engine's allowance) and buffers of one step."""
    from nnparity.scratch import NetState

    spec = decl.spec.replace(batch=len(X))
    net = build(spec)
    pairs: dict = {}
    if loss is not None:
        pairs[("loss", "loss")] = (loss, T.loss)
    for n, g in G.items():
        pairs[("grad", n)] = (g, T.grads[n])
    state = NetState(net.opt.init(P), B0, masks)
    terms = (depth_factor(spec), abs_grads(spec, P, X, y, state, masks))
    bd = bounds(spec, tol, pairs, P, state, probe, terms, {})
    items = [(st, n, a, e, None, bd.get((st, n))) for (st, n), (a, e) in pairs.items()]
    if B1 is not None:
        items += [("buffers", n, B1[n], v, None, None) for n, v in T.buffers.items()]
    return compare_many(items, tol, spec=str(decl.spec), mode="resync", step=k, check_dtype=False)
