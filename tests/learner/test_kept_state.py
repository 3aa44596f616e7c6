"""State a learner keeps between calls, beside its weights: a transposed copy of W re-synced by
its own update is correct, and the determinism probe (a step or backward pass run twice from
the same weights) runs the second from the state kept before the first (keep.py), in this
process and in the sandbox's; a step that draws anew each call is still nondeterministic.
A whole training step runs before the forward compared, so a step that backprops the cache of
its previous call is seen."""

from __future__ import annotations

import textwrap

import pytest

from nnparity.reports.cli import main

LEARNER = textwrap.dedent(
    """
    import numpy as np

    MODE = {mode!r}

    class Dense:
        def __init__(self, n_in, n_out, rng):
            self.W = rng.randn(n_in, n_out) / np.sqrt(n_in)
            self.b = 0.1 * rng.randn(n_out)
            self.WT = self.W.T.copy()  # kept for backward, re-synced by the update
            self.dW, self.db = np.zeros_like(self.W), np.zeros_like(self.b)

    class Net:
        def __init__(self):
            rng = np.random.RandomState(0)
            self.l1, self.l2 = Dense(4, 6, rng), Dense(6, 3, rng)
            self.noise = np.random.RandomState(1)

        def forward(self, X):
            self.X = X
            self.h = np.tanh(X @ self.l1.W + self.l1.b)
            self.out = self.h @ self.l2.W + self.l2.b
            return self.out

        def backward(self, y):
            d = 2 * (self.out - y) / y.size
            self.l2.dW, self.l2.db = self.h.T @ d, d.sum(0)
            d = d @ self.l2.WT * (1 - self.h**2)
            self.l1.dW, self.l1.db = self.X.T @ d, d.sum(0)

        def update(self, lr=0.1):
            for l in (self.l1, self.l2):
                l.W -= lr * l.dW
                l.b -= lr * l.db
                if MODE == "noise":
                    l.W += 1e-3 * self.noise.randn(*l.W.shape)
                l.WT = l.W.T.copy()

        def train_step(self, X, y):
            if MODE == "stale":  # the bug: backprop the cache of the previous call first
                self.backward(y)
                self.update()
                self.forward(X)
                return
            self.forward(X)
            self.backward(y)
            self.update()

    rng = np.random.RandomState(4)
    X, Y = rng.randn(24, 4), rng.randn(24, 3)
    net = Net()
    net.forward(X)  # the program's first printout caches the data
    NAMES = ["l1.W", "l1.b", "l2.W", "l2.b"]
    KW = dict(sizes=[4, 6, 3], activations="tanh,identity", loss="mse", optimizer="sgd", lr=0.1,
              data=(X, Y))

    def nnparity_adapter():
        from nnparity.reference.learner import from_layers, from_step

        if {style!r} == "step":
            return from_step(net, NAMES, net.train_step, forward=net.forward, **KW)
        return from_layers(
            [net.l1, net.l2], lambda X, y: (net.forward(X), net.backward(y)), weights="W",
            biases="b", dweights="dW", dbiases="db", forward=net.forward,
            step=lambda X, y: net.update(), **KW,
        )
    """
)


def _check(tmp_path, capsys, mode: str, style: str, *extra: str) -> str:
    f = tmp_path / f"learner_{mode}_{style}.py"
    f.write_text(LEARNER.format(mode=mode, style=style))
    main(["check", str(f), "--no-probe", "--steps", "4", *extra])
    return capsys.readouterr().out


@pytest.mark.parametrize("where", [(), ("--in-process",)])
@pytest.mark.parametrize("style", ["step", "layers"])
def test_a_transposed_copy_resynced_by_the_update_matches(tmp_path, capsys, style, where):
    out = _check(tmp_path, capsys, "ok", style, *where)
    assert out.startswith("code: match"), out


@pytest.mark.parametrize("style", ["step", "layers"])
def test_a_step_that_draws_anew_each_call_is_still_nondeterministic(tmp_path, capsys, style):
    out = _check(tmp_path, capsys, "noise", style)
    assert out.startswith("code: implementation_bug") and "nondeterministic" in out, out


def test_a_step_that_backprops_its_previous_call_s_cache_is_seen(tmp_path, capsys):
    out = _check(tmp_path, capsys, "stale", "step")
    assert out.startswith("code: implementation_bug"), out


def test_keep_restores_rebound_and_mutated_state_in_place_but_not_generators():
    import numpy as np

    from nnparity.reference.learner import keep

    class Layer:
        def __init__(self):
            self.W = np.ones((2, 2))
            self.WT = self.W.T.copy()
            self.t = 0
            self.rng = np.random.default_rng(0)

    layer = Layer()
    root = {"layers": [layer], "opt": {"v": np.zeros(2)}}
    held_W = layer.W
    kept = keep.snapshot(root)
    layer.W += 1  # in place
    layer.WT = layer.W.T.copy()  # rebound
    layer.t += 1
    root["opt"]["v"][:] = 5
    root["opt"]["extra"] = 1
    draw = layer.rng.random()
    keep.restore(kept)
    assert layer.W is held_W and (layer.W == 1).all() and (layer.WT == 1).all()
    assert layer.t == 0 and (root["opt"]["v"] == 0).all()
    assert layer.rng.random() != draw  # a generator is left to go on drawing


def test_keep_copies_arrays_within_its_budget_only(monkeypatch):
    import numpy as np

    from nnparity.reference.learner import keep

    monkeypatch.setattr(keep, "BUDGET", 100)
    root = {"small": np.zeros(4), "big": np.zeros(1000)}
    kept = keep.snapshot(root)
    copies = {key: copy is not None for _, key, _, copy in kept if key is not keep._KEYS}
    assert copies == {"small": True, "big": False}


CACHE: dict = {}


def test_keep_reaches_slots_tuples_closures_and_module_globals():
    import numpy as np

    from nnparity.reference.learner import keep

    class Slotted:
        __slots__ = ("W", "WT")

        def __init__(self):
            self.W = np.ones(2)
            self.WT = (np.ones(2),)  # a tuple refreshed in place

    layer, box = Slotted(), [np.zeros(2)]
    CACHE["WT"] = np.ones(2)

    def step():  # the learner's function: its closure and its module's globals
        return box, CACHE

    kept = keep.snapshot(layer, step)
    layer.W = np.full(2, 7.0)
    layer.WT[0][:] = 7
    box[0][:] = 7
    CACHE["WT"] = np.full(2, 7.0)
    keep.restore(kept)
    assert (layer.W == 1).all() and (layer.WT[0] == 1).all()
    assert (box[0] == 0).all() and (CACHE["WT"] == 1).all()


def test_keep_looks_through_nnparity_wrappers_to_the_learner_s_functions():
    from nnparity.reference.learner import keep

    calls = [0]

    def learner_fn():
        calls[0] += 1

    ns = {"__name__": "nnparity.reference.learner.fake"}  # an adapter's wrapper of nnparity's
    exec("def make(f):\n    def wrapper(*a):\n        return f(*a)\n    return wrapper", ns)
    wrapper = ns["make"](learner_fn)
    assert keep._expand([wrapper], 0) == ([], [learner_fn])
    assert keep._expand([learner_fn], 0) == ([], [learner_fn])


@pytest.mark.parametrize("init_forward", [False, True])
def test_a_step_that_needs_the_forward_called_before_it_says_so(tmp_path, capsys, init_forward):
    f = tmp_path / "lazy.py"
    f.write_text(
        LEARNER.format(mode="ok", style="step").replace(
            "return from_step(net, NAMES, net.train_step, forward=net.forward, **KW)",
            "return from_step(net, NAMES, lambda X, y: (net.backward(y), net.update()), "
            "forward=net.forward, **KW)",
        ).replace("net.forward(X)  # the program's first printout caches the data",
                  f"net.forward(X) if {init_forward!r} else None")
    )  # fmt: skip
    main(["check", str(f), "--no-probe", "--steps", "4"])
    out = capsys.readouterr().out
    assert out.startswith("code: implementation_bug"), out
    assert ("step_forward_order" if init_forward else "step_needs_forward") in out, out


def test_keep_leaves_alone_objects_that_will_not_show_their_state():
    from nnparity.reference.learner import keep

    class Proxy:
        def __getattribute__(self, name):
            raise RuntimeError("no")

    kept = keep.snapshot({"p": Proxy(), "n": 1})
    keep.restore(kept)
    assert [key for _, key, _, _ in kept if key is not keep._KEYS] == ["n"]  # the proxy: as it is


def test_keep_walks_a_bound_method_s_object_and_stops_at_its_entry_cap(monkeypatch):
    import numpy as np

    from nnparity.reference.learner import keep

    class Net:
        def __init__(self):
            self.WT = np.ones(2)

        def step(self):
            pass

    net = Net()
    kept = keep.snapshot(None, net.step)
    net.WT = np.zeros(2)
    keep.restore(kept)
    assert (net.WT == 1).all()
    monkeypatch.setattr(keep, "ENTRIES", 10)
    assert len(keep.snapshot({"big": list(range(1000))})) < 1000
