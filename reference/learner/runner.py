"""Calling the learner's code: one observation per step, with the hygiene checks.

Every call is guarded: an exception becomes ``LearnerCrash`` carrying the learner's own
traceback tail (frames from nnparity removed); RuntimeWarnings (overflow, divide by zero) are
recorded with the learner's file and line; ``X`` and ``y`` are passed as copies and compared
afterwards, so in-place mutation is seen and never reaches the twin. ``y`` reaches the learner
in the shape of its own data (a vector (N,) stays a vector; the twin takes (N, 1)).

A call run twice from the same weights (the determinism probe) that gives other numbers the
second time, and not twice the first's (gradient buffers added into), runs a third time from
the state kept before the first (``keep``): a copy of W that the learner's own update re-syncs
is its state, not randomness.

A step that is the whole training step (no gradient function) runs before the forward pass
compared, not after it: a forward called first would leave a fresh cache for a step that
backprops the cache of an earlier call (its own loop calls forward after backward). A step
that raises on its own at step 1 and runs after a forward call is ``step_needs_forward``.
Such a step's gradients are implied from its weights (``implied``)."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from nnparity.scratch.schedules import lr_at, mu_at, of

from . import accumulation
from .adapters import Adapter
from .call_order import needs_forward
from .coverage import OWN_BATCHES, aliased_finding, dtype_finding
from .crash import learner_tail, misfit, orientation_hint
from .grad_shape import ShapeProblem, reshaped, shape_crash, shape_finding
from .handed import loss_check, nonfinite_init, returned_loss
from .implied import imply
from .observation import LearnerCrash, Obs  # noqa: F401  (re-exported)
from .paths import LearnerError
from .repeats import FORWARD_FIX, REPEAT_FIX, narrowest
from .repeats import differs as _differs
from .result import Finding
from .warning_note import noted
from .weights_moved import integer_grads, moved_by_call, update_twice

Array = np.ndarray


class Runner:
    """Runs one adapter on (X, y): ``observe`` one step at given parameters."""

    def __init__(self, adapter: Adapter, X: Array, y: Array):
        self.a = adapter
        self.codec = adapter.bind()
        self.X, self.y = X, y
        nonfinite_init(adapter)
        self.hygiene: list[Finding] = []
        self.notes: list[Finding] = []  # what is not a bug here (dtype_changed, a shape note)
        self.held, self.out_dtype = {}, "float64"  # dtypes of the last gradients, output
        self.negate: frozenset[str] = frozenset()  # gradients taken as -dL/dW (descent.py)
        self.warning: tuple[int, str] | None = None  # (step, text): see _kept
        self.unmoved: int | None = None  # the first step after which no weight had changed
        self.stuck: tuple[int, tuple[str, ...]] | None = None  # the first step some stayed
        self.first: Any = None  # the learner's state before step 1
        self.fused = False  # its gradient function updates too (weights_moved): read at once
        spec = adapter.conventions.spec(self.codec.dtype)
        self.opt = dict(spec.opt.kwargs)
        self.opt_name = spec.opt.name
        self.lr = float(self.opt.get("lr", 1e-3))
        self._buf: dict[str, Array] = {}
        self._held: dict[str, Array] = {}  # what buffers hold after a pass, if they accumulate
        shared = adapter.aliased()
        if shared:
            self.hygiene.append(aliased_finding(shared))

    # -- guarded calls -----------------------------------------------------------------
    def call(self, what: str, fn: Any, step: int, *args: Array) -> Any:
        copies = [np.array(a, copy=True) for a in args]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                result = fn(*copies)
            except MemoryError:  # the memory limit, not a bug class: said as such by the caller
                raise
            except Exception as e:  # noqa: BLE001 - any learner error is a finding
                misfit(what, fn, len(copies), e)  # a function that cannot take its arguments
                raise LearnerCrash(
                    Finding(
                        "learner_exception",
                        (),
                        None,
                        step,
                        f"{what} raised at step {step}:\n{learner_tail(e)}",
                        "fix the error in your code (the traceback above is yours, not ours)"
                        + orientation_hint(
                            e, args, what, self.codec.layout, self.codec.conv.sizes[-1]
                        ),
                    )
                ) from None
        for w in caught:
            if issubclass(w.category, RuntimeWarning):
                self.warning = noted(self.warning, step, w)
        for name, a, c in zip(("X", "y"), args, copies, strict=False):
            if c.shape != a.shape or not np.array_equal(c, a, equal_nan=True):
                self._once(
                    "input_mutation",
                    f"{what} changed its input {name} in place at step {step}",
                    "work on a copy (x = x.copy()) or write results to "
                    "new arrays; in-place edits corrupt your data set",
                    step,
                )
        return result

    def _once(self, code: str, evidence: str, hint: str, step: int) -> None:
        self._found(Finding(code, (), None, step, evidence, hint, "hygiene"))

    # -- one step ----------------------------------------------------------------------
    def observe(self, step: int, params: dict[str, Array], rows: Array, twice: bool = False) -> Obs:
        """Write ``params`` into the learner, run its functions on the batch ``rows``."""
        a, X, y = self.a, self.X[rows], self.y[rows]
        obs, self._batch = Obs(step, rows, params), len(rows)
        moved = None  # the weights after a gradient call that updates them (``fused``)
        if step == 1 and self.first is None:  # (call_order's and fresh_steps' experiments)
            self.first = a.keep(pin=True)
        a.write(params)
        last = a.grads is None and a.step is not None  # a whole step: forward after it (doc)
        if a.forward is not None and not last:
            obs.out = self._unmoved(step, "your forward pass", lambda: self.forward(step, X))
            if twice:  # a forward that draws (dropout left on in predict) parts from itself
                a.write(params)
                if _differs({"o": obs.out}, {"o": self.forward(step, X)}, self.out_dtype):
                    said = "your forward pass returns other outputs on a second call from the "
                    self._once("nondeterministic", said + f"same weights and data at step {step}",
                               FORWARD_FIX, step)  # fmt: skip
        if a.grads is not None:
            before = a.keep() if twice else []
            obs.loss, obs.grads = self._unmoved(step, "your gradient function",
                                                lambda: self._grads(step, X, y))  # fmt: skip
            obs.held.update(self.held)
            if twice:
                held, after = self._held, a.keep()
                a.write(params)
                _, again = self._grads(step, X, y)
                obs.calls = 2
                acc = accumulation.doubled(obs.grads, again, held)  # the buffers that add up
                if acc:
                    names = self.codec.labels(list(acc))
                    self._found(accumulation.twice_finding(step, "your backward pass run", names))
                elif _differs(obs.grads, again, dts := narrowest(obs.held, self.codec.held_in())):
                    a.restore(before)  # random draws, or state? a third run from before the first
                    a.write(params)
                    g3 = self._grads(step, X, y)[1]
                    self._same(obs.grads, g3, step, "the gradients", held=dts)
                    a.restore(after)  # on from the first run's state
                    obs.calls = 1
                else:  # the same numbers: on from the first run's state (a count kept once)
                    a.restore(after)
            if self.fused:  # a backward that updates: its update is the step's (or a part)
                moved = self._after(step)
            a.write(params)
            if a.conventions.l2_in == "update":  # its gradients are the data's alone
                obs.loss, obs.grads = a.conventions.with_penalty(obs.loss, obs.grads, params)
                obs.penalty_added = True
        if a.step is not None:
            first = last and step == 1 and a.forward is not None  # (call_order's experiment)
            if moved is not None:  # on from the gradient call's own update: both are taken
                a.write(moved)
            before = self.first if first else a.keep() if twice else []
            try:
                ret = self.call("step", a.step, step, X, y)
                if a.grads is None and obs.loss is None:  # the loss a whole step returns (s45)
                    obs.loss = returned_loss(ret)
                    obs.returned = obs.loss is not None
            except LearnerCrash as e:  # a step that needs the forward pass called before it?
                if not (last and step == 1 and a.forward is not None):
                    raise
                raise LearnerCrash(self._needs_forward(e.finding, before, params, X, y)) from None
            if step == 1:
                self._dtypes(step)
            obs.after = self._after(step)
            if moved is not None and step == 1:  # the gradient call's update, then the step's
                twice_over = update_twice(
                    params, moved, obs.after, self.codec.labels(list(params)), step
                )
                if twice_over:
                    self._found(twice_over)
            same = [k for k, v in obs.after.items() if np.array_equal(v, params[k])]
            if self.unmoved is None and len(same) == len(obs.after):
                self.unmoved = step
            elif self.stuck is None and same and len(same) < len(obs.after):
                self.stuck = (step, tuple(same))
            if twice:
                after = a.keep()
                a.write(params if moved is None else moved)
                self.call("step", a.step, step, X, y)
                self._same_step(params, obs.after, self._after(step), step, False, before, X, y)
                a.restore(after)  # on from the first run's state (an epoch count advanced once)
                a.write(obs.after)
            if a.grads is None and not any(a.conventions.clip):  # a clip hides g: the
                sched = of(self.opt)  # step is held to the clipped update
                lr, mu = lr_at(self.lr, sched, step - 1), float(self.opt.get("momentum", 0.0))
                if step > 1 and not self.opt.get("lr_outside"):  # v holds the lr
                    mu = mu_at(mu, sched, step - 1)
                imply(obs, self.opt_name, {**self.opt, "momentum": mu}, lr, self._buf, self.codec)
        elif moved is not None:  # no step given: the gradient call's update is the step
            obs.after = moved
        if a.forward is not None and last:
            a.write(params)
            obs.out = self.forward(step, X)
            a.write(obs.after)
        obs.warning = self.warning
        if obs.out is not None:
            obs.held["output"] = self.out_dtype
        return obs

    def _unmoved(self, step: int, what: str, call: Any) -> Any:
        """``call()``, with ``parameter_mutation`` when it changes the weights in place."""
        before, out = self.a.read(), call()
        g = out[1] if isinstance(out, tuple) else None  # a gradient call's (loss, grads)
        after, labels = self.a.read(), self.codec.labels(list(before))
        wd = float(self.opt.get("weight_decay", 0.0)) * (self.opt_name != "adamw")  # coupled
        f = moved_by_call(before, after, labels, what, step, g, self.fused, self.a.step, wd)
        self.fused = self.fused or bool(f and f.code == "update_in_backward")
        if f and self.a.style != "layers":  # a layer's backward that updates: its idiom
            self._found(f)
        return out

    def _after(self, step: int) -> dict[str, Array]:
        """The weights after the learner's step; ``LearnerCrash`` when the step changed a
        parameter's shape (its update broadcast it: b (n, 1) - lr * db (n,) is (n, n))."""
        moved = [(s, v.shape) for s, v in zip(self.codec.slots, self.a.read_raw(), strict=True)
                 if v.shape != s.shape and v.size != int(np.prod(s.shape))]  # fmt: skip
        if moved:
            yv = np.ndim(self.y) == 1
            raise LearnerCrash(reshaped(step, moved, self._batch, yv, self.codec.layout))
        return self.a.read()

    def _needs_forward(
        self, crash: Finding, before: Any, params: dict, X: Array, y: Array
    ) -> Finding:
        """``crash`` (the step raised at step 1), or, when the step runs once the learner's
        forward is called on the batch first, ``step_needs_forward``."""
        a = self.a
        a.restore(before)
        a.write(params)
        try:
            self.call("forward", a.forward, 1, X)
            a.write(params)
            self.call("step", a.step, 1, X, y)
        except LearnerCrash:
            return crash
        return needs_forward(crash)

    def _dtypes(self, step: int) -> None:
        """``dtype_changed``: the learner's step turned a parameter into another dtype (a note:
        the numbers are compared as they come; a change that makes them part is a finding)."""
        now = [np.asarray(v).dtype for v in self.a.read_raw()]
        moved = [(s.path, s.dtype, d) for s, d in zip(self.codec.slots, now, strict=True)
                 if d != s.dtype]  # fmt: skip
        if moved:
            was = str(moved[0][1])
            held = [str(d) for d in self.held.values()]
            narrow = np.asarray(self.X).dtype.name == was and all(d == was for d in held)
            inputs = ("data and gradients" if held else "data") if narrow else ""
            self._found(dtype_finding(step, [m[0] for m in moved], was, str(moved[0][2]), inputs))

    def fresh(self, X: Array | None = None, y: Array | None = None) -> Runner:
        """A runner of the same learner (on other data where given), its gradients read as
        this one's (``negate``): for the runs after the steps."""
        r = Runner(self.a, self.X if X is None else X, self.y if y is None else y)
        r.negate = self.negate
        return r

    def observe_twice(self, step: int, params: dict[str, Array], rows: Array) -> None:
        """Run the step twice from ``params`` and compare the post-step weights (a step that
        shows no gradient: checked after the steps compared; see ``checker``)."""
        a, X, y = self.a, self.X[rows], self.y[rows]
        after = []
        a.write(params)
        before = a.keep()
        for _ in range(2):
            a.write(params)
            self.call("step", a.step, step, X, y)
            after.append(self._after(step))
        self._same_step(params, after[0], after[1], step, True, before, X, y)

    def _same_step(
        self,
        params: dict[str, Array],
        first: dict[str, Array],
        again: dict[str, Array],
        step: int,
        state: bool,
        before: Any,
        X: Array,
        y: Array,
    ) -> bool:
        """Two steps from the same weights: the second moved twice as far under plain SGD
        when its gradients accumulate; else they must agree, or a third run from the state
        kept ``before`` the first must (True: it ran, and agreed or not)."""
        d1 = {k: params[k] - first[k] for k in first if k not in self.codec.frozen}
        d2 = {k: params[k] - again[k] for k in d1}
        acc = accumulation.doubled(d1, d2, d1) if self._plain_sgd() else ()
        if acc:
            names = self.codec.labels(list(acc))
            self._found(accumulation.twice_finding(step, "your step run", names))
            return False
        if _differs(first, again, self.codec.held_in(), params) is None:
            return False
        self.a.restore(before)
        self.a.write(params)
        self.call("step", self.a.step, step, X, y)
        self._same(first, self._after(step), step, "the post-step weights", state, params)
        return True

    def _plain_sgd(self) -> bool:
        return self.opt_name == "sgd" and not self.opt.get("momentum")

    def _found(self, f: Finding) -> None:
        """Keep ``f`` once per code: with the notes when it is one, else with the hygiene."""
        kept = self.notes if f.kind == "note" else self.hygiene
        if not any(h.code == f.code for h in kept):
            kept.append(f)

    def _grads(self, step: int, X: Array, y: Array) -> tuple[float | None, dict[str, Array]]:
        a = self.a
        batches = (
            [(X[i : i + 1], y[i : i + 1]) for i in range(len(X))]
            if a.conventions.per_sample
            else [(X, y)]
        )
        total: dict[str, Array] = {}
        loss_sum = 0.0
        for xb, yb in batches:
            what = "grads" if a.grad_paths is None else "backward"
            returned = self.call(what, a.grads, step, xb, yb)
            if a.grad_paths is None:
                loss_check(returned, a.returns_loss, step)
            if step == 1 and (whole := integer_grads(returned)):
                self._found(whole)
            loss, raw = a.parse_grads(returned)
            self.held = self.codec.held_in(raw)
            if a.step is None:
                for f in shape_finding(step, self.codec.slots, raw):
                    self._found(f)
            try:
                g = self.codec.grad_to_canonical(raw, len(xb), np.ndim(yb) == 1)
            except ShapeProblem as e:
                raise LearnerCrash(shape_crash(e, step, self.codec.layout)) from None
            for k, v in g.items():
                total[k] = total.get(k, 0.0) + v
            held = g
            if loss is None or loss_sum is None:
                loss_sum = None
            else:
                loss_sum += loss
        # what an accumulating learner's buffers hold now, as it would offset ``total``
        w = len(batches) if (a.conventions.reduction or "mean") == "sum" else 1
        self._held = {k: w * v for k, v in held.items()}
        if len(batches) > 1 and (a.conventions.reduction or "mean") != "sum":
            total = {k: v / len(batches) for k, v in total.items()}
            loss_sum = None if loss_sum is None else loss_sum / len(batches)
        if self.negate:  # (descent.py)
            total = {k: -v if k in self.negate else v for k, v in total.items()}
        return loss_sum, total

    def forward(self, step: int, X: Array) -> Array:
        """The learner's forward output on ``X`` as (rows, outputs) (``LearnerCrash`` when it
        raises or its shape does not fit)."""
        return self._output(self.call("forward", self.a.forward, step, X), X.shape[0], step)

    def _output(self, out: Any, batch: int, step: int) -> Array:
        dt = np.asarray(out).dtype
        self.out_dtype = dt.name if np.issubdtype(dt, np.floating) else "float64"
        out = np.asarray(out, dtype=np.float64)
        n_out = self.a.conventions.sizes[-1]
        if out.shape == (batch, n_out):
            return out
        if out.shape == (n_out, batch):
            return out.T
        if out.size == batch * n_out and (batch == 1 or n_out == 1):
            return out.reshape(batch, n_out)
        what = f"forward output: expected ({batch}, {n_out}) for a batch of {batch}"
        what += f", got {out.shape}"
        hint = "return one row per sample (or one column per sample)"
        raise LearnerCrash(Finding("wrong_shape", ("forward",), None, step, what, hint))

    def _same(self, a: dict, b: dict, step: int, what: str, state: bool = False,
              base: dict | None = None, held: dict[str, str] | None = None) -> None:  # fmt: skip
        if (k := _differs(a, b, held or self.codec.held_in(), base)) is not None:
            evidence = (
                f"{what} differ between two runs from the same weights and data at step {step} "
                f"({self.codec.label(k)})"
                + ("; your step keeps some state, or draws random numbers" if state else "")
            )
            self._once(
                "nondeterministic", evidence, REPEAT_FIX + (OWN_BATCHES if state else ""), step
            )


__all__ = ["LearnerCrash", "LearnerError", "Obs", "Runner", "learner_tail"]
