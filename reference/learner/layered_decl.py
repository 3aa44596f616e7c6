"""The declarations of a layered learner network (``spec="1x8x8 conv(4,k=3) ..."``): the spec
in the layered one-line form, and the conventions the learner's layers follow.

- ``convention="cs231n"``: batchnorm's running statistics are ``m * running + (1 - m) * batch``
  with m = 1 - the spec's momentum (0.9 by default) and the **biased** batch variance stored,
  and every dropout ``p`` in the spec is the **keep** probability. One part alone:
  ``momentum="cs231n"`` (the running average with the biased variance), ``running_var=
  "biased"``, ``p="keep"``. Undeclared: PyTorch's (``running = (1 - mom) running + mom batch``,
  the unbiased variance; ``p`` drops, as nnfs's dropout ``rate``).
- ``layout='in_out' | 'out_in'``: how dense weights are stored, (in, out) for ``x @ W`` or
  (out, in) for ``x @ W.T``; only square weights need it (undeclared, the reading that
  reproduces the learner's loss and gradients is taken, with a note).
- ``l2=R``: the loss holds CS231n's ``reg``: ``R/2 * sum ||W||^2`` over every weight array.
- ``buffers=[...]``: the learner's running statistics in the spec's order (running_mean{n},
  running_var{n} of each batchnorm): paths below the adapter's root (or ``owner``), or
  callables returning the array (None before the first pass: fresh zeros and ones).
- ``masks=[...]``: per dropout layer, what holds its mask after a pass: a path, a callable, or
  the dropout layer object (its ``binary_mask`` or ``mask``; else its ``inputs`` and
  ``output``, the mask being where the output is non-zero). ``dropout_seed=S``: the mask is
  CS231n's ``np.random.seed(S); np.random.rand(*x.shape) < keep`` in every dropout layer.
  Neither: the masks are replayed from NumPy's global generator as it was before the pass
  (CS231n's ``rand < keep`` or nnfs's ``binomial(1, keep)``), the one that gives the
  learner's loss.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nnparity.scratch import Spec, build
from nnparity.scratch.errors import SpecError
from nnparity.scratch.losses import losses
from nnparity.scratch.spec_choice import Choice, choice

from .paths import DeclarationError, LearnerError

KEYS = (
    "spec",
    "convention",
    "momentum",
    "running_var",
    "p",
    "buffers",
    "masks",
    "dropout_seed",
    "owner",
    "optimizer",
    "lr",
    "batch_size",
    "l2",
    "layout",
    "loss",
    "reduction",
)


@dataclass(frozen=True)
class LayeredDecl:
    """A layered learner network: ``spec`` as the twin runs it (float64 twin, ``p`` dropping),
    ``running`` ('torch' or 'cs231n' for the running average), ``biased`` (the variance
    stored), ``keep_p`` (the spec as written gave dropout's keep probability), buffer and mask
    sources, the dropout seed and the owner that string sources are read from."""

    spec: Spec
    running: str = "torch"
    biased: bool = False
    keep_p: bool = False
    buffers: tuple[Any, ...] = ()
    masks: tuple[Any, ...] = ()
    dropout_seed: int | None = None
    owner: Any = None
    batch_size: int | None = None
    l2: float = 0.0  # l2/2 * sum of every W squared in the loss (CS231n's reg)
    layout: str | None = None  # dense weights 'in_out' (x @ W) or 'out_in' (W @ x)

    def param_names(self) -> list[str]:
        """Learnable arrays in the spec's order: W1, b1, gamma2, beta2, ..."""
        return build(self.spec).param_names()

    def buffer_names(self) -> list[str]:
        return list(build(self.spec).init_buffers())

    def fresh_buffers(self) -> dict:
        """The running statistics before the first pass: zeros, and running_var ones
        (PyTorch) or zeros (CS231n's ``bn_param.get("running_var", np.zeros(D))``)."""
        out = build(self.spec).init_buffers()
        if self.running == "cs231n":
            out = {n: v * 0 if n.startswith("running_var") else v for n, v in out.items()}
        return out

    def eval_dropout(self) -> str:
        """What an eval-mode dropout computes, as declared (the fix of an eval pass that parts)."""
        if any(c.name == "dropout" and not dict(c.params).get("inverted", True)
               for c in self.spec.stack):  # fmt: skip
            return "scale each dropout's input by 1 - p (declared inverted=false)"
        return "leave dropout out (the identity: inverted dropout already scaled in training)"

    def dropout_numbers(self) -> list[int]:
        net = build(self.spec)
        return [s.number for s in net.slots if s.layer.has_mask]

    def describe(self, batch: int | None = None) -> str:
        parts = [str(self.spec.replace(batch=batch) if batch else self.spec)]
        if self.running == "cs231n" or self.biased:
            moms = {float(c.kwargs.get("momentum", 0.1)) for c in self.spec.stack
                    if c.name == "batchnorm"}  # fmt: skip
            mom = next(iter(moms)) if len(moms) == 1 else None  # one momentum, said
            said = f"{1 - mom:g} r + {mom:g} batch" if mom is not None else "m r + (1-m) batch"
            m = f"{said} (1 - the spec's momentum on the old value)"
            parts.append(
                f"running statistics {m if self.running == 'cs231n' else 'torch'}"
                f", {'biased' if self.biased else 'unbiased'} variance"
            )
        if self.keep_p and self.dropout_numbers():
            parts.append("your dropout p keeps (the twin's p above drops)")
        return "; ".join(parts)


def is_layered(declared: dict[str, Any]) -> bool:
    return "spec" in declared


LAYERED_ONLY = ("convention", "momentum", "running_var", "p", "buffers", "masks", "dropout_seed")


def as_dense(declared: dict[str, Any]) -> dict[str, Any]:
    """A ``spec=`` made of dense layers and activations only is a dense spec (scratch prints
    it densely): its declarations for the dense adapters (sizes, activations, loss,
    optimizer), the others kept; any other spec is returned as it is."""
    if "spec" not in declared or isinstance(declared["spec"], Spec):
        return declared
    try:
        spec = Spec.parse(str(declared["spec"]))
    except SpecError as e:
        raise DeclarationError(str(e)) from None
    if spec.layered:
        return declared
    for key in ("buffers", "masks", "dropout_seed"):
        if declared.get(key) is not None:
            raise DeclarationError(f"{key}= given, but the spec has no batchnorm or dropout")
    out = {k: v for k, v in declared.items() if k not in (*LAYERED_ONLY, "spec", "owner")}
    out["sizes"] = list(spec.sizes)
    out["activations"] = [str(a) for a in spec.activations]
    out.setdefault("loss", str(spec.loss))
    if "lr" not in out:
        out.setdefault("optimizer", str(spec.opt))
    return out


def layered_decl(kw: dict[str, Any]) -> LayeredDecl:
    """``LayeredDecl`` from the keywords of a ``from_*`` call with ``spec=``."""
    unknown = set(kw) - set(KEYS)
    if unknown:
        one = (  # Victor Zhou's CNN trains one image per call
            "; for a function called one sample at a time, declare batch_size=1 instead of "
            "per_sample=True"
            if "per_sample" in unknown
            else ""
        )
        raise LearnerError(
            f"unknown declaration(s) {', '.join(sorted(unknown))} for a layered spec; known: "
            f"{', '.join(KEYS)} (sizes and activations are the spec's){one}"
        )
    conv = str(kw.get("convention", "torch")).lower()
    if conv not in ("torch", "pytorch", "cs231n"):
        raise DeclarationError(f"convention={conv!r}: use 'cs231n' or 'torch'")
    cs = conv == "cs231n"
    running = str(kw.get("momentum", "cs231n" if cs else "torch")).lower()
    if running not in ("torch", "pytorch", "cs231n"):
        raise DeclarationError(
            f"momentum={running!r}: for a layered spec momentum names batchnorm's running "
            "average, 'cs231n' (m running + (1-m) batch) or 'torch'; give the optimizer's as "
            "optimizer='sgd(momentum=0.9)'"
        )
    var = str(kw.get("running_var", "biased" if running == "cs231n" else "unbiased")).lower()
    p = str(kw.get("p", "keep" if cs else "drop")).lower()
    if var not in ("biased", "unbiased") or p not in ("keep", "drop"):
        raise DeclarationError("running_var is 'biased' or 'unbiased'; p is 'keep' or 'drop'")
    spec = _spec(kw["spec"], kw, p == "keep")
    for name in ("buffers", "masks"):
        if isinstance(kw.get(name), str):
            raise DeclarationError(f"{name}= is a list (one entry per array or layer)")
    if not isinstance(kw.get("l2", 0.0), int | float):  # (review s56 F5: float() on a list)
        raise DeclarationError(
            f"l2={kw['l2']!r}: a layered spec takes one number, CS231n's reg over every weight "
            "(a list per layer is for dense specs)"
        )
    decl = LayeredDecl(
        spec,
        "cs231n" if running == "cs231n" else "torch",
        var == "biased",
        p == "keep",
        tuple(kw.get("buffers") or ()),
        tuple(kw.get("masks") or ()),
        kw.get("dropout_seed"),
        kw.get("owner"),
        kw.get("batch_size"),
        float(kw.get("l2", 0.0)),
        _layout(kw.get("layout")),
    )
    nb, nm = len(decl.buffer_names()), len(decl.dropout_numbers())
    if decl.buffers and len(decl.buffers) != nb:
        raise DeclarationError(
            f"{len(decl.buffers)} buffer(s) given; the spec has {nb}: "
            f"{', '.join(decl.buffer_names())}, in this order"
        )
    if decl.masks and len(decl.masks) != nm:
        raise DeclarationError(
            f"{len(decl.masks)} mask source(s) given; the spec has {nm} dropout layer(s)"
        )
    return decl


def _layout(v: Any) -> str | None:
    if v is None:
        return None
    lay = str(v).lower().replace("-", "_")
    if lay not in ("in_out", "out_in"):
        raise DeclarationError(f"layout={v!r}: use 'in_out' (x @ W) or 'out_in' (W @ x)")
    return lay


def _spec(text: Any, kw: dict[str, Any], keep_p: bool) -> Spec:
    """The twin's spec: the text with ``opt``/``lr`` from the declarations, float64, and each
    dropout's p as the probability of dropping."""
    try:
        spec = text if isinstance(text, Spec) else Spec.parse(str(text))
    except SpecError as e:
        raise DeclarationError(str(e)) from None
    if not spec.layered:
        spec = Spec(input_shape=spec.in_shape, layers=spec.stack, **_rest(spec))
    if "optimizer" in kw or "lr" in kw:
        opt = str(kw.get("optimizer", spec.opt.name))
        if "lr" in kw:
            opt = f"{opt.split('(')[0]}(lr={kw['lr']}{_opt_rest(opt)})"
        try:
            spec = Spec.parse(f"{_without_opt(spec)} opt={opt}")
        except SpecError as e:
            raise DeclarationError(str(e)) from None
    if "loss" in kw or "reduction" in kw:  # the loss declared apart from the spec
        red = {"reduction": kw["reduction"]} if kw.get("reduction") is not None else {}
        try:
            spec = spec.replace(loss=choice(losses, str(kw.get("loss", spec.loss)), **red))
        except SpecError as e:
            raise DeclarationError(str(e)) from None
    if keep_p:
        spec = spec.replace(layers=tuple(flip_p(c) for c in spec.layers))
    return spec.replace(dtype="float64")


def flip_p(c: Choice) -> Choice:
    """A dropout layer's p read the other way (keep for drop), its other settings kept
    (``inverted=false``); any other layer as it is."""
    if c.name != "dropout":
        return c
    kw = dict(c.params)
    kw["p"] = round(1.0 - kw.get("p", 0.5), 12)
    return Choice("dropout", tuple(kw.items()))


def _rest(spec: Spec) -> dict[str, Any]:
    from dataclasses import fields

    skip = {"sizes", "activations", "layers", "input_shape"}
    return {f.name: getattr(spec, f.name) for f in fields(spec) if f.name not in skip}


def _opt_rest(opt: str) -> str:
    inner = opt[opt.index("(") + 1 : -1] if "(" in opt else ""
    kept = [p for p in inner.split(",") if p.strip() and p.split("=")[0].strip() != "lr"]
    return "".join(f",{p.strip()}" for p in kept)


def _without_opt(spec: Spec) -> str:
    return " ".join(t for t in str(spec).split(" ") if not t.startswith("opt="))
