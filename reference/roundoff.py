"""Per-element round-off allowances: how far a correct float computation of each compared value
may lie from the exact one, from the classical forward error bound of a sum.

A computed sum of n terms satisfies ``|fl(sum t_i) - sum t_i| <= gamma_n sum |t_i|`` with
``gamma_n ~ n u`` (u the dtype's unit round-off, 2^-24 or 2^-53; Higham, *Accuracy and Stability
of Numerical Algorithms*, 3.1). So the allowance of an element scales with the magnitudes of the
terms it sums, not with its own value: a gradient that cancels to round-off (symmetric units)
gets a round-off allowance, and a small but clean gradient (saturated units) a tight one.

The envelope ``E`` (an absolute error bound per element) is carried through the network to first
order, in float64, at the PyTorch side's weights:

    forward   E_z = E_a_prev |W| + |a_prev| dW + db + u (n_in + 1) (|a_prev| |W| + |b|)
              E_a = |f'(z)| E_z + 4u (|a| + |z|)          (an activation's own rounding)
    top       E_dz_L = |H| E_z_L + 8u (|G| + max_row |G| + |H| (|z_L| + |y|))
                       + 4u |dL/da| (1 + |f'|)                  (elementwise output f)
                       + 4u K w (1 + max_row |z_L|)              (a loss with log/exp)
              (G = dL/dz_L, H its per-sample Hessian block, both by autograd)
    loss      E_L = |dL/da| E_a + u (n + 4) (|L| + |dL/da| (|a| + |y|))
                    + u K w sum (1 + |a|) (1 + |y|)             (a loss with log/exp)
    backward  E_dW = E_a_prev^T |dz| + |a_prev|^T E_dz + u (B + 1) |a_prev|^T |dz|
              E_db = sum_b E_dz + u (B + 1) sum_b |dz|
              E_da = E_dz |W|^T + |dz| dW^T + u (n_out + 1) |dz| |W|^T
              E_dz = E_da |f'| + |da| (|f''| E_z + 4u (1 + |f'|)) + u |dz|
              (|f''| E_z at least how far f' moves within 2 E_z of z: a kink's jump, where
              the two sides' z can fall either side of it)

``dW``/``db`` are the weights' own difference between the sides (free mode; zero in resync), so
a drift already present enters the bound as what it is. The ``4u (1 + |f'|)`` term is the
absolute error of a derivative such as ``1 - tanh(z)^2`` that cancels when the unit saturates;
the output layer has it too, times ``|dL/da|`` (a tanh output within an ulp of 1 has
``f' = 2e-14`` computed to an absolute u); a row-wise output (softmax) gets the hidden layers'
``4u (|J|^T |dL/da|) (1 + max|z|)``. A loss with log/exp (``LOG_EXP_LOSSES``, K of them per
element) computes terms of size ``(1 + |a|)(1 + |y|)`` each to an absolute u whatever the
loss's value (torch's ``z - log_sigmoid(z)`` at ``z = -21.6`` is ``z - (z - 4e-10)``, off by
``u |z|`` on a loss of 4e-10), weighted by ``w``, the weight of one element in the reduction
(``|dL/da| / |dL_sum/da|``: 1/numel or 1/B for a mean, 1 for a sum); its gradient
``sigmoid(z) - y`` or ``softmax(z) - y`` likewise carries ``u (1 + max|z|)`` per element.
Each side's error is at most ``E``, so the two sides differ by at most ``2 E``; ``SAFETY`` = 2
more covers the second-order terms dropped here. The drift is not a bound per side but the
sides' measured difference: it counts 1 x, not SAFETY x (E is linear in u and dP, so the
envelope is run with ``dP / SAFETY``); at SAFETY x a bug that feeds on its own drift could
grow up to 4x a step unseen. The gamma_n bounds are worst cases (typical
errors grow like sqrt(n) u), so the allowance stays a few hundred u at most on these networks:
a bug of 1e-6 relative in float64 is still 1e10 u.

Updates and optimizer state: optimizers are elementwise maps, so the sensitivity of the update
to a gradient error is measured exactly by stepping the float64 optimizer (scratch's pure
function: the same maths as PyTorch's, held to it by this suite, and a hundred times cheaper
to call than a torch optimizer whose state must be copied in) at ``g``,
``g + E_g`` and ``g - E_g`` (and, in free mode, at the state and weights moved by their drift,
and at the gradient moved by the drift's share of its allowance, those counted 1 x):
a squared state such as ``exp_avg_sq`` then carries twice the relative error of the gradient it
squares, and an adaptive step of a gradient that is round-off gets the full step as allowance.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from nnparity.scratch import Spec, activations, build

from .variants import torch_activations, torch_losses

Array = np.ndarray
SAFETY = 4.0  # 2 (two sides, each within E) x 2 (dropped second-order terms)
# log/exp evaluations per output element of the losses that take them (an absolute u each)
LOG_EXP_LOSSES = {"bce": 2, "bce_with_logits": 2, "cross_entropy": 2, "nll": 1}
_F64 = torch.float64


KINKED_LOSSES = frozenset({"l1", "hinge", "multi_margin"})  # their gradients jump at a kink


def unit_roundoff(dtype: str) -> float:
    """u = eps / 2 of ``dtype``."""
    return float(np.finfo(dtype).eps) / 2


def _t(x: Any) -> torch.Tensor:
    return torch.as_tensor(np.asarray(x, dtype=np.float64))


def _diag_derivs(
    mod: torch.nn.Module, z: torch.Tensor, second: bool = True
) -> tuple[torch.Tensor, ...]:
    """a, f'(z), f''(z) of an elementwise activation (f'' as 0 unless ``second``)."""
    z = z.detach().requires_grad_(True)
    a = mod(z)
    (f1,) = torch.autograd.grad(a.sum(), z, create_graph=second)
    if second and f1.requires_grad:
        (f2,) = torch.autograd.grad(f1.sum(), z, allow_unused=True)
        f2 = torch.zeros_like(z) if f2 is None else f2
    else:
        f2 = torch.zeros_like(z)
    return a.detach(), f1.detach(), f2.detach()


def _jump(mod: torch.nn.Module, z: torch.Tensor, f1: torch.Tensor, d: torch.Tensor) -> Any:
    """How far f' moves within ``d`` of ``z``: at a kink (relu, leaky_relu, hardtanh at
    their corners) the two sides' z, each within its envelope, can fall either side of it and
    take derivatives a jump apart, which ``|f''| E_z`` (0 there) does not see."""
    hi, lo = _diag_derivs(mod, z + d, False)[1], _diag_derivs(mod, z - d, False)[1]
    return torch.maximum((hi - f1).abs(), (lo - f1).abs())


def _blocks(out: torch.Tensor, z: torch.Tensor, create_graph: bool = False) -> torch.Tensor:
    """J[b, j, k] = d out[b, j] / d z[b, k] for a map that acts on each row on its own."""
    cols = []
    for j in range(out.shape[1]):
        (g,) = torch.autograd.grad(
            out[:, j].sum(), z, retain_graph=True, create_graph=create_graph, allow_unused=True
        )
        cols.append(torch.zeros_like(z) if g is None else g)
    return torch.stack(cols, dim=1)


class Envelope:
    """The round-off allowances of one spec; build once per run, call per step."""

    def __init__(self, spec: Spec):
        self.spec = spec
        self.u = unit_roundoff(spec.dtype)
        self.mods = [torch_activations[a.name].build(a.kwargs) for a in spec.activations]
        self.diag = [a.name in activations.names("elementwise") for a in spec.activations]
        self.loss_fn = torch_losses[spec.loss.name].build(spec.loss.kwargs)
        self.opt = build(spec.replace(dtype="float64")).opt

    def grads(
        self, P: dict[str, Array], X: Array, y: Array, dP: dict[str, Array] | None = None
    ) -> dict[tuple[str, str], Array]:
        """Allowances for the forward output, the loss and every gradient at the twin's
        weights ``P``: SAFETY x the round-off envelope E, plus 1 x the first-order effect of
        ``dP``, |scratch - twin| per parameter (free mode)."""
        u, spec = self.u, self.spec
        L = spec.n_layers
        with torch.no_grad():
            W = [_t(P[f"W{l}"]) for l in range(1, L + 1)]  # scratch layout (in, out)
            b = [_t(P[f"b{l}"]) if spec.bias else None for l in range(1, L + 1)]
            # the drift counts 1 x: E is linear in (u, dP), so SAFETY E(dP / SAFETY) is
            # SAFETY x the round-off part plus 1 x the drift's first-order effect
            dW = [_t(dP[f"W{l}"]) / SAFETY if dP else None for l in range(1, L + 1)]
            db = [_t(dP[f"b{l}"]) / SAFETY if dP and spec.bias else None for l in range(1, L + 1)]
        a = _t(X)
        Ea = torch.zeros_like(a)
        layers = []
        for l in range(L):
            aW = a.abs() @ W[l].abs()
            Ez = Ea @ W[l].abs() + u * (a.shape[1] + 1) * aW
            z = a @ W[l]
            if b[l] is not None:
                z = z + b[l]
                Ez = Ez + u * (a.shape[1] + 1) * b[l].abs()
            if dW[l] is not None:
                Ez = Ez + a.abs() @ dW[l]
                if db[l] is not None:
                    Ez = Ez + db[l]
            if l < L - 1:
                if self.diag[l]:
                    an, f1, f2 = _diag_derivs(self.mods[l], z)
                    Ean = f1.abs() * Ez
                    # flat at exactly 0 within reach (a ReLU's negative z): an exact 0 on both
                    # sides, no rounding of its own (a bias of 0 below it then sits on the next
                    # kink exactly, and a rounding there would grant a whole derivative flip)
                    flat = (an == 0) & (f1 == 0) & (_jump(self.mods[l], z, f1, SAFETY * Ez) == 0)
                else:
                    flat = None
                    zr = z.detach().requires_grad_(True)
                    an_g = self.mods[l](zr)
                    J = _blocks(an_g, zr).detach()
                    an, f1, f2 = an_g.detach(), J, None
                    Ean = (J.abs() @ Ez.unsqueeze(2)).squeeze(2)
                Ean = Ean + 4 * u * (an.abs() + z.abs())
                if flat is not None:
                    Ean = torch.where(flat, 0.0, Ean)
                layers.append((a, Ea, z, Ez, f1, f2))
                a, Ea = an, Ean
            else:
                layers.append((a, Ea, z, Ez, None, None))
        # top: output, loss, dL/dz_L and its per-sample Hessian blocks
        a_prev, _, zL, EzL, _, _ = layers[-1]
        zr = zL.detach().requires_grad_(True)
        out = self.mods[-1](zr)
        yt = torch.as_tensor(y) if y.dtype.kind == "i" else _t(y)
        loss = self.loss_fn(out, yt)
        (G,) = torch.autograd.grad(loss, zr, create_graph=True)
        H = _blocks(G, zr).detach().abs()
        Jo = _blocks(out, zr).detach().abs()
        o2 = out.detach().requires_grad_(True)
        (g_out,) = torch.autograd.grad(self.loss_fn(o2, yt), o2)
        G = G.detach()
        out_d = out.detach()
        E_out = (Jo @ EzL.unsqueeze(2)).squeeze(2) + 4 * u * (out_d.abs() + zL.abs())
        yf = yt.abs() if yt.is_floating_point() else torch.zeros_like(out_d)
        n_terms = out_d.numel() + 4
        E_loss = float((g_out.abs() * E_out).sum()) + u * n_terms * (
            abs(float(loss.detach())) + float((g_out.abs() * (out_d.abs() + yf)).sum())
        )
        n_log, w = self._log_terms(out_d, yt)
        if n_log:  # each log/exp term: u times its size, (1 + |out|) (1 + |y|), times w
            E_loss += u * n_log * w * float(((1 + out_d.abs()) * (1 + yf)).sum())
        bounds: dict[tuple[str, str], Array] = {
            ("forward", "output"): SAFETY * E_out.numpy(),
            ("loss", "loss"): np.asarray(SAFETY * E_loss),
        }
        row = G.abs().amax(dim=1, keepdim=True)
        # the target's size as G's inputs carry it (a - y): |y| itself, 1 for class indices
        # (a one-hot 1); a constant 1 for all would excuse a 1e-2 slip of a 1e-4 target
        ysz = yf if yf.shape == zL.shape else torch.ones_like(zL)
        Edz = (H @ EzL.unsqueeze(2)).squeeze(2) + 8 * u * (
            G.abs() + row + (H @ (zL.abs() + ysz).unsqueeze(2)).squeeze(2)
        )
        Edz = Edz + self._top_cancellation(Jo, g_out.abs(), zL)
        if spec.loss.name in KINKED_LOSSES:  # dL/dz_L jumps where a = y
            Edz = torch.maximum(Edz, self._top_jump(zL, SAFETY * EzL, yt, G))
        if n_log:  # sigmoid(z) - y, softmax(z) - y: exp(z - logsumexp) to u (1 + max|z|)
            Edz = Edz + 4 * u * n_log * w * (1 + zL.abs().amax(dim=1, keepdim=True))
        dz = G
        B = a_prev.shape[0]
        for l in range(L - 1, -1, -1):
            a, Ea, z, Ez, _, _ = layers[l]
            M = dz.abs()
            EdW = Ea.T @ M + a.abs().T @ Edz + u * (B + 1) * (a.abs().T @ M)
            bounds[("grad", f"W{l + 1}")] = SAFETY * EdW.numpy()
            if spec.bias:
                Edb = Edz.sum(0) + u * (B + 1) * M.sum(0)
                bounds[("grad", f"b{l + 1}")] = SAFETY * Edb.numpy()
            if l == 0:
                break
            Wa = W[l].abs()
            da = dz @ W[l].T
            Eda = Edz @ Wa.T + u * (W[l].shape[1] + 1) * (M @ Wa.T)
            if dW[l] is not None:
                Eda = Eda + M @ dW[l].T
            _, _, zp, Ezp, f1, f2 = layers[l - 1]
            if f2 is not None:  # elementwise
                dz = da * f1
                Ef1 = f2.abs() * Ezp + 4 * u * (1 + f1.abs())
                Ef1 = torch.maximum(Ef1, _jump(self.mods[l - 1], zp, f1, SAFETY * Ezp))
                Edz = Eda * f1.abs() + da.abs() * Ef1 + u * dz.abs()
            else:  # a row-wise activation (softmax in a hidden layer): J^T da
                dz = (f1.transpose(1, 2) @ da.unsqueeze(2)).squeeze(2)
                Jt = f1.abs().transpose(1, 2)
                Edz = (Jt @ Eda.unsqueeze(2)).squeeze(2) + 4 * u * (
                    (Jt @ da.abs().unsqueeze(2)).squeeze(2) * (1 + zp.abs().amax())
                )
        return bounds

    def _top_jump(
        self, zL: torch.Tensor, d: torch.Tensor, yt: torch.Tensor, G: torch.Tensor
    ) -> torch.Tensor:
        """How far dL/dz_L moves within ``d`` of z_L, either way, for a loss whose gradient
        jumps (``KINKED_LOSSES``: l1's sign(a - y) at a = y; a margin's a_y - a_k = margin, moved
        by the class's score against the others'): the whole jump where the two
        sides' outputs can fall either side of the target, as ``_jump`` at an activation's
        kink (a smooth loss has |H| E_z, and a window of SAFETY E_z there would count the
        drift SAFETY x)."""

        def at(z: torch.Tensor) -> torch.Tensor:
            zr = z.detach().requires_grad_(True)
            return torch.autograd.grad(self.loss_fn(self.mods[-1](zr), yt), zr)[0].detach()

        ways = [torch.ones_like(zL)]
        if yt.dtype in (torch.int64, torch.int32) and yt.shape == zL.shape[:1]:  # class scores:
            q = torch.nn.functional.one_hot(yt, zL.shape[1]).to(zL.dtype)  # margins a_y - a_k
            ways.append(2 * q - 1)
        jump = torch.zeros_like(zL)
        for w in ways:
            jump = torch.maximum(jump, (at(zL + d * w) - G).abs())
            jump = torch.maximum(jump, (at(zL - d * w) - G).abs())
        return jump

    def _top_cancellation(self, Jo: torch.Tensor, g_out: torch.Tensor, zL: torch.Tensor) -> Any:
        """The output derivative's own absolute error times |dL/da|, as in the hidden layers:
        ``4u |dL/da| (1 + |f'|)`` for an elementwise output (``1 - tanh^2`` of a unit within
        an ulp of 1 cancels to u), ``4u (|J|^T |dL/da|) (1 + max|z|)`` for a row-wise one."""
        u = self.u
        if self.diag[-1]:
            f1 = torch.diagonal(Jo, dim1=1, dim2=2)
            return 4 * u * g_out * (1 + f1)
        Jt = Jo.transpose(1, 2)
        return 4 * u * (Jt @ g_out.unsqueeze(2)).squeeze(2) * (1 + zL.abs().amax())

    def _log_terms(self, out: torch.Tensor, yt: torch.Tensor) -> tuple[int, float]:
        """(log/exp evaluations per output element of the loss, the weight w of one element in
        the loss's reduction). w is |dL/dout| / |dL_sum/dout| (1/numel or 1/B for a mean, 1
        for a sum); 1 (the largest) when that cannot be measured."""
        n_log = LOG_EXP_LOSSES.get(self.spec.loss.name, 0)
        if not n_log:
            return 0, 0.0
        kw = dict(self.spec.loss.kwargs)
        try:
            summed = torch_losses[self.spec.loss.name].build({**kw, "reduction": "sum"})
        except (TypeError, ValueError, KeyError):
            return n_log, 1.0
        o = out.detach().requires_grad_(True)
        (g1,) = torch.autograd.grad(self.loss_fn(o, yt), o)
        (g2,) = torch.autograd.grad(summed(o, yt), o)
        big = g2.abs() > 0
        if not bool(big.any()):
            return n_log, 1.0
        return n_log, float((g1.abs()[big] / g2.abs()[big]).max())

    def step(
        self,
        P: dict[str, Array],
        state: Any,
        grads: dict[str, Array],
        gbound: dict[str, Array],
        dP: dict[str, Array] | None = None,
        dstate: Any = None,
        gdrift: dict[str, Array] | None = None,
    ) -> dict[tuple[str, str], Array]:
        """Allowances for the updated weights and the optimizer state: the float64 PyTorch
        optimizer stepped at ``grads`` and at each source of error moved both ways, the largest
        move per element summed over sources. Round-off (the gradient moved by its round-off
        allowance ``gbound``, plus the update's own rounding) counts SAFETY x; the drift of
        free mode (the gradient moved by ``gdrift``, the weights by ``dP``, each state field by
        ``dstate``) counts 1 x: it is the sides' measured difference, not a bound per side."""
        u = self.u
        base = self._step(P, state, grads)
        moves = [(P, state, {k: grads[k] + s * gbound[k] for k in grads}) for s in (1.0, -1.0)]
        sources = [moves]  # round-off: counted SAFETY x; the drift's sources below 1 x
        if gdrift is not None:
            sources.append(
                [(P, state, {k: grads[k] + s * gdrift[k] for k in grads}) for s in (1.0, -1.0)]
            )
        if dP is not None:
            sources.append([({k: P[k] + s * dP[k] for k in P}, state, grads) for s in (1, -1)])
        if dstate is not None:
            for key, bufs in dstate._asdict().items():
                if key == "step" or not bufs:
                    continue
                pair = []
                for s in (1.0, -1.0):
                    moved = {n: getattr(state, key)[n] + s * bufs[n] for n in bufs}
                    pair.append((P, state._replace(**{key: moved}), grads))
                sources.append(pair)
        total = {k: np.zeros_like(v) for k, v in base.items()}
        drift = {k: np.zeros_like(v) for k, v in base.items()}
        for i, pair in enumerate(sources):
            outs = [self._step(*args) for args in pair]
            acc = total if i == 0 else drift
            for k, v in base.items():
                with np.errstate(invalid="ignore"):
                    move = np.maximum(*(np.abs(o[k] - v) for o in outs))
                acc[k] = acc[k] + np.where(np.isfinite(move), move, 0.0)
        out = {}
        for (stage, name), v in base.items():
            if stage == "update":
                own = 8 * u * (np.abs(P[name]) + 4 * np.abs(v - P[name]))
            else:
                old = getattr(state, name.split(".")[0], {}).get(name.split(".", 1)[1])
                own = 8 * u * (np.abs(v) + (np.abs(old) if old is not None else 0.0))
            out[(stage, name)] = SAFETY * (total[(stage, name)] + own) + drift[(stage, name)]
        return out

    def _step(self, P: dict[str, Array], state: Any, grads: dict[str, Array]) -> dict:
        new_p, new_state = self.opt.update(grads, state, P)
        out: dict[tuple[str, str], Array] = {("update", n): v for n, v in new_p.items()}
        for key, bufs in new_state._asdict().items():
            if key != "step" and bufs:
                out.update({("optimizer_state", f"{key}.{n}"): v for n, v in bufs.items()})
        return out
