import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import pytest

import chaosjax as cj
from chaosjax.learn import checkpoint as ckpt

SRC = str(Path(cj.__file__).resolve().parents[1])

# The training problem, run the same way in this process and in a child process.
PROBLEM = textwrap.dedent(
    """
    import time
    import equinox as eqx, jax, jax.numpy as jnp, numpy as np
    import chaosjax as cj

    class Net(eqx.Module):
        mlp: eqx.nn.MLP

    def init(key):
        return Net(eqx.nn.MLP(1, 1, 8, 1, activation=jnp.tanh, key=key))

    def loss(model, batch):
        x, y = batch
        return jnp.mean((jax.vmap(model.mlp)(x) - y) ** 2)

    def run(path, slow=False):
        x = jnp.linspace(-2.0, 2.0, 64)[:, None]
        return cj.learn.fit(
            init, loss, (x, jnp.sin(2.0 * x)), key=jax.random.key(7), restarts=2,
            batch_size=16, steps=160, eval_every=20, checkpoint=path,
            # The slow run hangs at step 60 (after its checkpoint at 40) until killed.
            callback=(lambda step, *a: time.sleep(600 if step >= 60 else 0)) if slow else None,
        )
    """
)

CHILD = PROBLEM + textwrap.dedent(
    """
    import sys
    jax.config.update("jax_enable_x64", True)
    run(sys.argv[1], slow=True)
    """
)


def test_killed_run_resumes_bit_identical(tmp_path):
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    path = tmp_path / "fit.ckpt"
    env = {**os.environ, "PYTHONPATH": SRC, "JAX_PLATFORMS": "cpu"}
    child = subprocess.Popen(
        [sys.executable, str(script), str(path)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        # Classes defined by a script live in `__main__`, here as in the child.
        problem: dict = {"__name__": "__main__"}
        exec(PROBLEM, problem)
        reference = problem["run"](None)  # uninterrupted, meanwhile, in this process
        deadline = time.time() + 240
        while not (path.exists() and ckpt.read_header(path)["steps"] == 40):
            assert child.poll() is None, child.communicate()[0].decode()
            assert time.time() < deadline, "no checkpoint was written"
            time.sleep(0.05)
        child.send_signal(signal.SIGKILL)
        child.wait()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    assert ckpt.read_header(path)["steps"] == 40
    # Resumed here from what the killed process wrote, to the end.
    resumed = problem["run"](path)
    assert ckpt.read_header(path)["steps"] == 160
    ref_leaves = jax.tree.leaves(eqx.filter(reference.models, eqx.is_array))
    res_leaves = jax.tree.leaves(eqx.filter(resumed.models, eqx.is_array))
    assert len(ref_leaves) == len(res_leaves) == 8  # 2 restarts x (W, b) x 2 layers
    for a, b in zip(ref_leaves, res_leaves, strict=True):
        assert jnp.array_equal(a, b)
    assert jnp.array_equal(reference.history.train, resumed.history.train)
    assert jnp.array_equal(reference.restart_losses, resumed.restart_losses)


class Linear(eqx.Module):
    w: jax.Array


def sq_loss(model, batch):
    A, b = batch
    return jnp.mean((A @ model.w - b) ** 2)


class Stop(Exception):
    pass


def test_interrupted_two_stage_fit_resumes_bit_identical(tmp_path):
    # Adam then L-BFGS, interrupted in the Adam stage: the L-BFGS state (with its line
    # search's weakly typed scalars) is rebuilt on resume.
    A = jax.random.normal(jax.random.key(0), (32, 3))
    b = jnp.cos(jnp.arange(32.0))
    kw = dict(key=jax.random.key(1), batch_size=8, eval_every=20,
              stages=[("adam", 60), ("lbfgs", 20)], restarts=2)  # fmt: skip
    init = lambda k: Linear(jax.random.normal(k, (3,)))
    full = cj.learn.fit(init, sq_loss, (A, b), **kw)
    path = tmp_path / "two.ckpt"
    calls = []

    def interrupt(step, *_):
        calls.append(step)
        if step == 60:
            raise Stop

    with pytest.raises(Stop):
        cj.learn.fit(init, sq_loss, (A, b), checkpoint=path, callback=interrupt, **kw)
    assert ckpt.read_header(path)["steps"] == 40
    record = lambda step, *_: calls.append(step)
    resumed = cj.learn.fit(init, sq_loss, (A, b), checkpoint=path, callback=record, **kw)
    assert calls == [20, 40, 60, 60, 80]
    for a, b_ in zip(jax.tree.leaves(full.models), jax.tree.leaves(resumed.models), strict=True):
        assert jnp.array_equal(a, b_)
    assert jnp.array_equal(full.history.train, resumed.history.train, equal_nan=True)
    # A finished checkpoint gives the result again without training.
    again = cj.learn.fit(init, sq_loss, (A, b), checkpoint=path, callback=record, **kw)
    assert len(calls) == 5
    assert jnp.array_equal(again.model.w, full.model.w)


def test_checkpoint_of_another_model_is_refused_and_left_untouched(tmp_path):
    A, b = jnp.ones((8, 3)), jnp.arange(8.0)
    path = tmp_path / "m.ckpt"
    kw = dict(key=jax.random.key(0), steps=10, eval_every=10, checkpoint=path)
    cj.learn.fit(Linear(jnp.zeros(3)), sq_loss, (A, b), **kw)
    before = path.read_bytes()

    class Other(eqx.Module):
        w: jax.Array

    cases = [
        (Linear(jnp.zeros(2)), (A[:, :2], b), {}),  # other leaf shapes
        (Other(jnp.zeros(3)), (A, b), {}),  # other class
        (Linear(jnp.zeros(3)), (A, b), {"key": jax.random.key(1)}),  # other key
        (Linear(jnp.zeros(3)), (A, b), {"steps": 20}),  # other configuration
    ]
    for model, data, change in cases:
        with pytest.raises(ValueError, match="`checkpoint`"):
            cj.learn.fit(model, sq_loss, data, **{**kw, **change})
        assert path.read_bytes() == before
    cj.learn.save(Linear(jnp.zeros(3)), tmp_path / "model.eqx")
    with pytest.raises(ValueError, match="`checkpoint`"):
        cj.learn.fit(Linear(jnp.zeros(3)), sq_loss, (A, b),
                     **{**kw, "checkpoint": tmp_path / "model.eqx"})  # fmt: skip
    (tmp_path / "junk").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="`checkpoint`"):
        cj.learn.fit(
            Linear(jnp.zeros(3)), sq_loss, (A, b), **{**kw, "checkpoint": tmp_path / "junk"}
        )
    assert (tmp_path / "junk").read_bytes() == b"not a checkpoint"


@pytest.mark.parametrize(
    "model",
    [
        cj.systems.Henon(a=1.3, b=0.25),
        cj.systems.DelayedHenon(d=5, a=1.5),
        cj.systems.RNN.random(jax.random.key(0), 6, n_inputs=2, g=1.5),
        cj.systems.LSTM.random(jax.random.key(0), 4, n_inputs=2, g=1.5),
        cj.systems.GRU.random(jax.random.key(2), 5, n_inputs=1, g=1.2),
        cj.learn.RecurrentClassifier.init(
            jax.random.key(1), cj.systems.GRU.random(jax.random.key(0), 4, n_inputs=1)
        ),
        cj.discretize(cj.systems.Lorenz63(rho=30.0), dt=0.02, solver="rk4"),
        cj.systems.LinearFlow(A=jnp.array([[-0.1, -1.0], [1.0, -0.1]])),
    ],
    ids=lambda m: type(m).__name__,
)
def test_save_load_rebuilds_chaosjax_models_without_a_template(model, tmp_path):
    path = cj.learn.save(model, tmp_path / "model.eqx")
    back = cj.learn.load(path)
    assert type(back) is type(model)
    assert jax.tree.structure(back) == jax.tree.structure(model)
    for a, b in zip(jax.tree.leaves(model), jax.tree.leaves(back), strict=True):
        assert jnp.array_equal(a, b) and a.dtype == b.dtype
    x = model.default_state()
    f = (lambda m: m.step(x)) if isinstance(model, cj.Map) else (lambda m: m.vector_field(x))
    assert jnp.array_equal(f(back), f(model))
    header = ckpt.read_header(path)
    assert header["class"].startswith("chaosjax.") and header["chaosjax_version"]


def test_load_needs_like_outside_chaosjax_and_checks_it(tmp_path):
    model = Linear(jnp.arange(3.0))
    path = cj.learn.save(model, tmp_path / "lin.eqx")
    with pytest.raises(ValueError, match="`like=`"):
        cj.learn.load(path)
    back = cj.learn.load(path, like=Linear(jnp.zeros(3)))
    assert jnp.array_equal(back.w, model.w)
    with pytest.raises(ValueError, match="`like`"):
        cj.learn.load(path, like=Linear(jnp.zeros(4)))
    with pytest.raises(ValueError, match="`like`"):
        cj.learn.load(path, like=cj.systems.Henon())
    header = json.loads(json.dumps(ckpt.read_header(path)))
    assert header["leaves"] == [[[3], "float64"]]
