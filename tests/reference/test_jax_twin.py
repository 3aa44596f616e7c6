"""The JAX twin: every variant registered once on the JAX side, the same TwinStep structure as
the PyTorch twin, the declared conventions at the kinks, and the x64 switch left as found."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("jax", reason="jax is not installed (pip install nnparity[jax])")
pytest.importorskip("optax", reason="jax is not installed (pip install nnparity[jax])")

import jax  # noqa: E402
import torch  # noqa: E402

from nnparity.reference.jax import (  # noqa: E402
    JaxTwin,
    jax_activations,
    jax_losses,
    jax_optimizers,
    precision,
)
from nnparity.reference.twin import Twin  # noqa: E402
from nnparity.reference.variants import torch_activations  # noqa: E402
from nnparity.scratch import REGISTRIES, Spec, build, make_data  # noqa: E402

# initializers are not on the JAX side: every twin starts from scratch's own weights
JAX = {"activation": jax_activations, "loss": jax_losses, "optimizer": jax_optimizers}


@pytest.mark.parametrize("kind", sorted(JAX))
def test_same_names_and_defaults_as_scratch(kind):
    assert list(JAX[kind]) == list(REGISTRIES[kind])
    for name in REGISTRIES[kind]:
        assert JAX[kind][name].defaults == REGISTRIES[kind][name].defaults, name


# every optimizer with every state field it can hold
OPTS = [
    "sgd(lr=0.1)",
    "sgd(lr=0.1,momentum=0.9,weight_decay=0.01)",
    "sgd(lr=0.1,momentum=0.9,dampening=0.3)",
    "sgd(lr=0.1,momentum=0.9,nesterov=true)",
    "adam(lr=0.01,weight_decay=0.1)",
    "adam(lr=0.01,amsgrad=true)",
    "adamw(lr=0.01)",
    "adamw(lr=0.01,amsgrad=true,weight_decay=0.5)",
    "rmsprop",
    "rmsprop(momentum=0.5,centered=true,weight_decay=0.1)",
    "adagrad(lr=0.1)",
    "adagrad(lr=0.1,lr_decay=0.2,initial_accumulator_value=0.3,weight_decay=0.1)",
]


@pytest.mark.parametrize("opt", OPTS)
def test_step_has_the_torch_twins_structure_and_values(opt):
    spec = Spec.parse(f"3-4-2 tanh,identity loss=mse opt={opt} seed=2")
    p = build(spec).init_params()
    X, y = make_data(spec)
    tt, jt = Twin(spec), JaxTwin(spec)
    tt.set_params(p)
    jt.set_params(p)
    for _ in range(3):
        t, j = tt.step(*tt.tensors(X, y)), jt.step(*jt.tensors(X, y))
        assert j.out.dtype == t.out.dtype == np.float64
        assert isinstance(j.loss, float)
        assert list(j.grads) == list(t.grads) and list(j.params) == list(t.params)
        assert set(j.state) == set(t.state), (j.state.keys(), t.state.keys())  # order: none
        assert j.state.get("step") == t.state.get("step")
        np.testing.assert_allclose(j.out, t.out, rtol=1e-12, atol=1e-14)
        for got, want in ((j.grads, t.grads), (j.params, t.params)):
            for n in want:
                np.testing.assert_allclose(got[n], want[n], rtol=1e-12, atol=1e-14, err_msg=n)
        for key, bufs in t.state.items():
            if key != "step":
                for n in bufs:
                    np.testing.assert_allclose(j.state[key][n], bufs[n], rtol=1e-12, atol=1e-14)


def test_set_state_resumes_where_scratch_is():
    spec = Spec.parse("3-4-2 tanh,identity loss=mse opt=adam(lr=0.01,amsgrad=true) seed=4")
    net = build(spec)
    p = net.init_params()
    X, y = make_data(spec)
    state = net.init_state(p)
    for _ in range(2):
        p, state, _ = net.train_step(p, state, X, y)
    jt = JaxTwin(spec)
    jt.set_params(p)
    jt.set_state(state)
    assert jt.get_state()["step"] == 2
    vmax = jt.get_state()["max_exp_avg_sq"]["W1"]
    np.testing.assert_array_equal(vmax, state.max_exp_avg_sq["W1"])
    new_p, _ = net.opt.update(net.loss_and_grads(p, X, y)[1], state, p)
    j = jt.step(*jt.tensors(X, y))
    for n in new_p:
        np.testing.assert_allclose(j.params[n], new_p[n], rtol=1e-12, atol=1e-14)
    assert j.state["step"] == 3


# probes on and around every kink: 0, +-1 (hardtanh), 20 and 20.5 (softplus's threshold)
PROBE = np.array([-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 20.0, 20.5], dtype=np.float64)
ELEMENTWISE = [n for n in REGISTRIES["activation"].names("elementwise")]
KWARGS = {"softplus": {}, "elu": {"alpha": 2.0}, "leaky_relu": {"slope": 0.2}}


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_activation_values_and_kink_gradients_are_torchs(name):
    """jax.grad of each JAX variant equals torch autograd of the torch variant, exactly at the
    kinks (leaky_relu'(0) = slope, hardtanh'(+-1) = 0, relu'(0) = 0, elu'(0) = alpha)."""
    kw = KWARGS.get(name, {})
    z = torch.tensor(PROBE, requires_grad=True)
    a_t = torch_activations[name].build(kw)(z)
    a_t.sum().backward()
    f = jax_activations[name].build(kw)
    with precision("float64"):
        a_j = np.array(f(jax.numpy.asarray(PROBE)))
        g_j = np.array(jax.grad(lambda v: f(v).sum())(jax.numpy.asarray(PROBE)))
    np.testing.assert_allclose(a_j, a_t.detach().numpy(), rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(g_j, z.grad.numpy(), rtol=1e-14, atol=1e-15)


def test_jax_own_leaky_relu_would_fail_the_kink_test():
    """The kink test can fail: jax.nn.leaky_relu's grad at 0 is 1, not the slope."""
    with precision("float64"):
        g = jax.grad(lambda v: jax.nn.leaky_relu(v, 0.2).sum())(jax.numpy.zeros(1))
    assert float(g[0]) == 1.0 != 0.2


def test_precision_restores_the_callers_x64_setting():
    before = jax.config.jax_enable_x64
    spec = Spec.parse("3-4-2 tanh,identity loss=mse opt=sgd")
    jt = JaxTwin(spec)
    jt.set_params(build(spec).init_params())
    step = jt.step(*jt.tensors(*make_data(spec)))
    assert step.out.dtype == np.float64
    assert jax.config.jax_enable_x64 == before
    with precision("float64"):
        assert jax.config.jax_enable_x64
    assert jax.config.jax_enable_x64 == before


def test_step_before_set_params_says_what_to_do():
    jt = JaxTwin(Spec.parse("3-4-2 tanh,identity"))
    with pytest.raises(RuntimeError, match="set_params"):
        jt.step(np.zeros((2, 3)), np.zeros((2, 2)))
