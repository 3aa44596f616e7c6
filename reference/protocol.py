"""The protocol a user's network follows to be held to PyTorch by ``run_parity(net=...)``
(and the ``assert_parity`` fixture), checked call by call so that a missing or misshapen piece
is one message naming it, never an AttributeError from inside the engine.

A network is any object with (``P`` = ``{name: ndarray}``, named and shaped as
``nnparity.scratch.param_names(spec)``, layout ``(in, out)``):

- ``init_params() -> P``  (not needed when ``params=`` is given);
- ``init_state(params: P) -> state``: the optimizer state, either a NamedTuple or a plain dict
  ``{"step": int, field: {name: ndarray}}``, fields named as PyTorch's ``optimizer.state``
  keys (``momentum_buffer``, ``exp_avg``, ``exp_avg_sq``, ``max_exp_avg_sq``, ``square_avg``,
  ``sum``; none for plain SGD);
- ``loss_and_grads(params: P, X, y) -> (loss: float, grads: P, output: ndarray (batch, out))``;
- ``opt.update(grads: P, state, params: P) -> (new_params: P, new_state)``, pure: it returns
  new arrays and leaves its arguments alone.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Mapping
from numbers import Real
from typing import Any

import numpy as np

from nnparity.scratch import Spec, param_names
from nnparity.scratch.errors import NNParityError

Array = np.ndarray


class ProtocolError(NNParityError):
    """A user's network does not follow the protocol above."""


def _need(net: Any, dotted: str, signature: str) -> Any:
    obj = net
    for part in dotted.split("."):
        if not hasattr(obj, part):
            raise ProtocolError(
                f"your network has no {dotted!r}: it needs `{signature}` "
                "(see nnparity.reference.protocol)"
            )
        obj = getattr(obj, part)
    if not callable(obj):
        raise ProtocolError(f"your network's {dotted!r} is not callable: it needs `{signature}`")
    return obj


class Checked:
    """A user's network seen through the protocol: each call's results are checked, and the
    optimizer state is handed to the engine as a NamedTuple whatever form the network keeps."""

    def __init__(self, net: Any, spec: Spec, *, need_init_params: bool):
        self.net = net
        self.spec = spec
        self.names = param_names(spec)
        if need_init_params:
            _need(net, "init_params", "init_params() -> {name: array}")
        _need(net, "init_state", "init_state(params) -> optimizer state")
        _need(net, "loss_and_grads", "loss_and_grads(params, X, y) -> (loss, grads, output)")
        _need(net, "opt.update", "opt.update(grads, state, params) -> (params, state)")
        self._dict_state = False

    def init_params(self) -> dict[str, Array]:
        return self._params(self.net.init_params(), "init_params()")

    def init_state(self, params: dict[str, Array]) -> Any:
        return self._state(self.net.init_state(params), "init_state(params)")

    def loss_and_grads(self, p: dict[str, Array], X: Array, y: Array) -> tuple[float, dict, Array]:
        got = self.net.loss_and_grads(p, X, y)
        where = "loss_and_grads(params, X, y)"
        if not isinstance(got, tuple) or len(got) != 3:
            raise ProtocolError(
                f"your network's {where} returned {_kind(got)}; it must return a tuple "
                "(loss, grads, output)"
            )
        loss, grads, out = got
        if isinstance(loss, np.ndarray) and loss.size == 1:
            loss = loss.reshape(())[()]
        if not isinstance(loss, Real):
            raise ProtocolError(
                f"your network's {where} returned a loss of type {type(loss).__name__}; "
                "it must be a number (float(loss))"
            )
        grads = self._params(grads, f"{where} gradients", like=p)
        out = np.asarray(out)
        want = (X.shape[0], self.spec.sizes[-1])
        if out.shape != want:
            raise ProtocolError(
                f"your network's {where} returned an output of shape {out.shape}; "
                f"the spec needs (batch, out) = {want}"
            )
        return float(loss), grads, out

    @property
    def opt(self) -> Checked:
        return self  # the engine calls net.opt.update(...)

    def update(self, grads: dict, state: Any, params: dict) -> tuple[dict, Any]:
        mine = dict(state._asdict()) if self._dict_state else state
        got = self.net.opt.update(grads, mine, params)
        where = "opt.update(grads, state, params)"
        if not isinstance(got, tuple) or len(got) != 2:
            raise ProtocolError(
                f"your network's {where} returned {_kind(got)}; it must return a tuple "
                "(new_params, new_state)"
            )
        new_p, new_state = got
        return self._params(new_p, f"{where} parameters", like=params), self._state(
            new_state, where
        )

    # -- checks ---------------------------------------------------------------------------
    def _params(self, got: Any, where: str, like: dict | None = None) -> dict[str, Array]:
        if not isinstance(got, Mapping):
            raise ProtocolError(
                f"your network's {where} gave {_kind(got)}; it must be a dict "
                f"{{name: array}} with the names {', '.join(self.names)}"
            )
        missing = [n for n in self.names if n not in got]
        if missing:
            raise ProtocolError(
                f"your network's {where} has no {', '.join(missing)} (it has "
                f"{', '.join(map(str, got)) or 'nothing'}); the spec's parameters are "
                f"{', '.join(self.names)}, weights (in, out)"
            )
        out = {}
        for n in self.names:
            a = got[n]
            if not isinstance(a, np.ndarray) or a.dtype.kind != "f":
                raise ProtocolError(
                    f"your network's {where}: {n} is {_kind(a)}; it must be a float ndarray"
                )
            if like is not None and a.shape != np.shape(like[n]):
                raise ProtocolError(
                    f"your network's {where}: {n} has shape {a.shape}; the parameter has "
                    f"shape {np.shape(like[n])} (weights are (in, out))"
                )
            out[n] = a
        return out

    def _state(self, got: Any, where: str) -> Any:
        if isinstance(got, tuple) and hasattr(got, "_asdict"):
            fields = dict(got._asdict())
        elif isinstance(got, Mapping):
            fields, self._dict_state = dict(got), True
        else:
            raise ProtocolError(
                f"your network's {where} gave a state of type {type(got).__name__}; it must be "
                'a NamedTuple or a dict {"step": int, field: {name: array}}'
            )
        if "step" not in fields:
            raise ProtocolError(
                f"your network's {where} gave a state without 'step' (fields: "
                f"{', '.join(fields) or 'none'}); it counts the updates made, 0 at first"
            )
        for key, bufs in fields.items():
            if key != "step" and not isinstance(bufs, Mapping):
                raise ProtocolError(
                    f"your network's {where}: state field {key!r} is {_kind(bufs)}; each field "
                    "other than 'step' must be a dict {name: array}"
                )
        if isinstance(got, tuple):
            return got
        return namedtuple("State", list(fields))(**fields)  # noqa: PYI024


def _kind(obj: Any) -> str:
    if isinstance(obj, np.ndarray):
        return f"an array of shape {obj.shape} and dtype {obj.dtype}"
    if isinstance(obj, tuple):
        return f"a tuple of {len(obj)}"
    return "None" if obj is None else f"a {type(obj).__name__}"
