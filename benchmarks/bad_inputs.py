"""Bad-input census: every public function and every command, called with bad input.

    python benchmarks/bad_inputs.py [--jobs 2] [--only api|cli] [--limit N]
                                    [--case-timeout 60] [--x64] [--markdown FILE]

Each case is one bad input, tried as a new user would (default settings: 32-bit JAX
unless --x64; no pytest type-checking hook). The outcome of each is one of:

- clear: a `ValueError`, `TypeError` or `cj.DivergenceError` (for a file that cannot
  be read or written, an `OSError` such as `cj.io.WriteError`), raised from chaosjax's own
  code (the innermost frame of the traceback is in chaosjax, not in JAX, NumPy, h5py or
  equinox), whose message names the argument (or the step); for a command line, exit
  status 1 or 2 with one `Error: ...` line (or the command-line parser's own usage
  error) naming the option, and no traceback.
- unclear: any other exception, or a message that does not name the argument.
- silent: the call returns (or the command exits 0) although its input is bad.
- hang: no answer within the per-case time limit.
- crash: the process died (a signal, an abnormal exit status).

API cases run in worker processes (`--jobs` of them), each case under `signal.alarm`
and a watchdog: a worker that dies or stalls is restarted after the case that killed
it. Command lines run as `python -m chaosjax ...` subprocesses with a timeout, `--jobs`
at a time, in a scratch directory. Workers and commands run under an address-space
limit (`--memory-limit`, GB) so that an unchecked huge allocation fails instead of
taking the machine.

Writes the table (counts per outcome, per function or command, and every non-clear
case) to benchmarks/BAD_INPUTS.md (or --markdown FILE). Exits with status 1 unless
nothing is silent, hangs or crashes and under 1 % is unclear. The whole census takes
about 20 minutes on 2 cores (each command line is a fresh interpreter); `--limit N`
runs an evenly spread subset.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
OUTCOMES = ("clear", "unclear", "silent", "hang", "crash")


@dataclass
class Case:
    """One bad API input: `call()` must raise a clear error naming one of `names`."""

    function: str
    label: str
    call: Callable[[], Any]
    names: tuple[str, ...]


@dataclass
class CliCase:
    """One bad command line: `args` after `chaosjax`; the error names one of `names`."""

    command: str
    label: str
    args: list[str]
    names: tuple[str, ...]
    setup: Callable[[Path], None] | None = field(default=None, repr=False)


# =========================================================================== API cases


def api_cases(scratch: Path) -> list[Case]:  # noqa: C901 - one flat list of cases
    """Every bad API input, in a fixed order (workers refer to them by index)."""
    import jax
    import jax.numpy as jnp
    import numpy as np
    import xarray as xr

    import chaosjax as cj

    cases: list[Case] = []

    def add(function: str, label: str, call: Callable[[], Any], *names: str) -> None:
        cases.append(Case(function, label, call, tuple(f"`{n}`" for n in names)))

    def add_raw(function: str, label: str, call: Callable[[], Any], *names: str) -> None:
        cases.append(Case(function, label, call, names))

    LOR = cj.systems.Lorenz63()

    class Lorenz63NoDt(cj.systems.Lorenz63):
        """Lorenz63 without a default time step (as a user's flow): `dt` is required."""

        default_dt = None

    LOR_NO_DT = Lorenz63NoDt()
    X0 = np.asarray(LOR.default_state())
    xs = np.asarray(cj.trajectory(LOR, X0, steps=300, dt=0.02, transient=100))
    HEN = cj.systems.Henon()
    LOG = cj.systems.Logistic()
    nan, inf = float("nan"), float("inf")
    key = jax.random.key(0)
    obs2 = lambda x: x[2]  # noqa: E731

    bad_x0 = {
        "NaN entry": np.array([1.0, nan, 1.0]),
        "inf entry": np.array([inf, 1.0, 1.0]),
        "shape (2,)": np.ones(2),
        "shape (2, 2, 3)": np.ones((2, 2, 3)),
        "empty": np.ones(0),
        "str": "1,1,1",
        "complex": X0.astype(np.complex128),
    }
    bad_steps = {
        "0": 0,
        "-5": -5,
        "2.5": 2.5,
        "'100'": "100",
        "None": None,
        "True": True,
        "2**70": 2**70,
        "1e11 (float)": 1e11,
    }
    bad_dt = {"0": 0.0, "-0.01": -0.01, "NaN": nan, "inf": inf, "'0.01'": "0.01", "None": None}
    bad_systems = {"str": "lorenz63", "None": None, "int": 3, "function": lambda x: -x}

    # --------------------------------------------------------------- simulation and spectra
    sims: dict[str, Callable[..., Any]] = {
        "trajectory": lambda sys=LOR, x0=X0, **kw: cj.trajectory(sys, x0, **kw),
        "final_state": lambda sys=LOR, x0=X0, **kw: cj.final_state(sys, x0, **kw),
        "time_average": lambda sys=LOR, x0=X0, **kw: cj.time_average(sys, x0, obs2, **kw),
        "cumulative_average": lambda sys=LOR, x0=X0, **kw: cj.cumulative_average(
            sys, x0, obs2, **kw
        ),
        "lyapunov_spectrum": lambda sys=LOR, x0=X0, steps=20, **kw: cj.lyapunov_spectrum(
            sys, x0, steps, **kw
        ),
        "max_lyapunov": lambda sys=LOR, x0=X0, steps=20, **kw: cj.max_lyapunov(
            sys, x0, steps, **kw
        ),
        "covariant_lyapunov_vectors": lambda sys=LOR, x0=X0, steps=20, **kw: (
            cj.covariant_lyapunov_vectors(sys, x0, steps, transient=5, future=5, **kw)
        ),
    }
    with_transient = {"trajectory", "time_average", "cumulative_average", "lyapunov_spectrum"}
    for fn, f in sims.items():
        base = dict(steps=20, dt=0.01)
        for label, x0 in bad_x0.items():
            if fn == "covariant_lyapunov_vectors" and label == "shape (2, 2, 3)":
                x0 = np.ones((2, 3))  # one state only: a batch is bad here
                label = "batch (2, 3)"
            add(fn, f"x0 {label}", lambda f=f, x0=x0: f(x0=x0, **base), "x0")
        for label, steps in bad_steps.items():
            add(fn, f"steps {label}", lambda f=f, s=steps: f(steps=s, dt=0.01), "steps")
        for label, dt in bad_dt.items():
            if label == "None":
                continue  # a flow needs dt: covered by the generic `dt` check below
            add(fn, f"dt {label}", lambda f=f, dt=dt: f(steps=20, dt=dt), "dt")
        add(fn, "dt missing for a flow", lambda f=f: f(sys=LOR_NO_DT, steps=20), "dt")
        add(fn, "solver 'rk5'", lambda f=f: f(solver="rk5", **base), "solver")
        add(fn, "solver None", lambda f=f: f(solver=None, **base), "solver")
        if fn in with_transient:
            add(fn, "transient -1", lambda f=f: f(transient=-1, **base), "transient")
            add(fn, "transient 2.5", lambda f=f: f(transient=2.5, **base), "transient")
        for label, bad in bad_systems.items():
            add(fn, f"system {label}", lambda f=f, s=bad: f(sys=s, **base), "system")
        add(
            fn,
            "complex parameter",
            lambda f=f: f(sys=cj.systems.Lorenz63(rho=28.0 + 1j), **base),
            "rho",
            "system",
        )
        add(
            fn,
            "NaN parameter",
            lambda f=f: f(sys=cj.systems.Lorenz63(rho=nan), **base),
            "rho",
            "system",
        )

    # Sizes: outputs that grow with steps, refused before they are allocated.
    huge = 10**11
    add(
        "trajectory",
        "steps 1e11 (int)",
        lambda: cj.trajectory(LOR, X0, steps=huge, dt=0.01),
        "steps",
    )
    add(
        "trajectory",
        "save_every > steps ... 1e11 batch",
        lambda: cj.trajectory(HEN, np.zeros((64, 2)), steps=huge),
        "steps",
    )
    add(
        "cumulative_average",
        "steps 1e11 (int)",
        lambda: cj.cumulative_average(HEN, np.zeros(2), None, steps=huge),
        "steps",
    )
    add(
        "covariant_lyapunov_vectors",
        "steps 1e11 (int)",
        lambda: cj.covariant_lyapunov_vectors(LOR, X0, huge, dt=0.01, transient=0, future=5),
        "steps",
    )
    add(
        "covariant_lyapunov_vectors",
        "future 1e11",
        lambda: cj.covariant_lyapunov_vectors(LOR, X0, 10, dt=0.01, transient=0, future=huge),
        "future",
        "steps",
    )
    add(
        "shadowing_sensitivity",
        "steps 1e11 (LSS)",
        lambda: cj.shadowing_sensitivity(LOR, "rho", obs2, X0, steps=huge, dt=0.01),
        "steps",
    )
    add(
        "shadowing_sensitivity",
        # (1e11 steps of NILSS is a valid, long run: it keeps one segment at a time.)
        "steps 2**70 (NILSS)",
        lambda: cj.shadowing_sensitivity(
            LOR, "rho", obs2, X0, steps=2**70, dt=0.01, method=cj.NILSS()
        ),
        "steps",
    )
    add(
        "orbit_diagram",
        "keep 1e10",
        lambda: cj.orbit_diagram(HEN, "a", np.linspace(1, 1.4, 1000), transient=0, keep=10**10),
        "keep",
    )
    add(
        "lyapunov_spectrum",
        "steps 2**70 with transient",
        lambda: cj.lyapunov_spectrum(LOR, X0, 2**70, dt=0.01, transient=5),
        "steps",
    )
    add(
        "max_lyapunov",
        "renorm_every 0",
        lambda: cj.max_lyapunov(LOR, X0, 20, dt=0.01, renorm_every=0),
        "renorm_every",
    )
    add(
        "max_lyapunov",
        "renorm_every -1",
        lambda: cj.max_lyapunov(LOR, X0, 20, dt=0.01, renorm_every=-1),
        "renorm_every",
    )
    add(
        "lyapunov_spectrum",
        "qr_every 0",
        lambda: cj.lyapunov_spectrum(LOR, X0, 20, dt=0.01, qr_every=0),
        "qr_every",
    )
    add("lyapunov_spectrum", "k 0", lambda: cj.lyapunov_spectrum(LOR, X0, 20, dt=0.01, k=0), "k")
    add(
        "lyapunov_spectrum",
        "k 4 > dim",
        lambda: cj.lyapunov_spectrum(LOR, X0, 20, dt=0.01, k=4),
        "k",
    )
    add(
        "lyapunov_spectrum", "k '2'", lambda: cj.lyapunov_spectrum(LOR, X0, 20, dt=0.01, k="2"), "k"
    )
    add(
        "lyapunov_spectrum",
        "history 0",
        lambda: cj.lyapunov_spectrum(LOR, X0, 20, dt=0.01, history=0),
        "history",
    )
    add(
        "lyapunov_spectrum",
        "qr 'svd'",
        lambda: cj.lyapunov_spectrum(LOR, X0, 20, dt=0.01, qr="svd"),
        "qr",
    )
    add(
        "lyapunov_spectrum",
        "inverse 'yes'",
        lambda: cj.lyapunov_spectrum(HEN, np.zeros(2), 20, inverse="yes"),
        "inverse",
    )
    add(
        "lyapunov_spectrum",
        "inputs for a closed map",
        lambda: cj.lyapunov_spectrum(HEN, np.zeros(2), 20, inputs=np.ones((20, 1))),
        "inputs",
    )
    add(
        "lyapunov_spectrum",
        "resume a str",
        lambda: cj.lyapunov_spectrum(LOR, X0, 20, dt=0.01, resume="x"),
        "resume",
    )
    add(
        "covariant_lyapunov_vectors",
        "k 0",
        lambda: cj.covariant_lyapunov_vectors(LOR, X0, 20, dt=0.01, k=0),
        "k",
    )
    add(
        "covariant_lyapunov_vectors",
        "future -1",
        lambda: cj.covariant_lyapunov_vectors(LOR, X0, 20, dt=0.01, future=-1),
        "future",
    )
    add(
        "covariant_lyapunov_vectors",
        "transient -1",
        lambda: cj.covariant_lyapunov_vectors(LOR, X0, 20, dt=0.01, transient=-1),
        "transient",
    )
    add(
        "trajectory",
        "save_every 0",
        lambda: cj.trajectory(LOR, X0, steps=20, dt=0.01, save_every=0),
        "save_every",
    )
    add(
        "trajectory",
        "chunk_size 0",
        lambda: cj.trajectory(LOR, X0, steps=20, dt=0.01, chunk_size=0),
        "chunk_size",
    )
    add(
        "trajectory",
        "throw 'no'",
        lambda: cj.trajectory(LOR, X0, steps=20, dt=0.01, throw="no"),
        "throw",
    )
    add(
        "cumulative_average",
        "save_every 0",
        lambda: cj.cumulative_average(LOR, X0, obs2, steps=20, dt=0.01, save_every=0),
        "save_every",
    )

    # --------------------------------------------------------------- observables
    bad_obs = {
        "NaN (x[0] * nan)": lambda x: x[0] * jnp.nan,
        "log of negative": lambda x: jnp.log(-jnp.abs(x[0]) - 1.0),
        "inf (exp(1000 z))": lambda x: jnp.exp(1000.0 * x[2]),
        "returns None": lambda x: None,
        "index x[5]": lambda x: x[5],
        "index x[-4]": lambda x: x[-4],
        "complex": lambda x: x.astype(jnp.complex64),
        "a str": "x[0]",
        "returns a str": lambda x: "z",
    }
    averagers = {
        "time_average": lambda o: cj.time_average(LOR, X0, o, steps=20, dt=0.01),
        "ensemble_time_average": lambda o: cj.ensemble_time_average(
            LOR, key, 2, o, steps=20, dt=0.01
        ),
        "cumulative_average": lambda o: cj.cumulative_average(LOR, X0, o, steps=20, dt=0.01),
    }
    for fn, f in averagers.items():
        for label, o in bad_obs.items():
            add(fn, f"observable {label}", lambda f=f, o=o: f(o), "observable")
    nan_obs = lambda x: jnp.log(x[0] - 100.0)  # noqa: E731 - NaN on the whole attractor
    add(
        "finite_time_gradient",
        "NaN observable",
        lambda: cj.finite_time_gradient(LOR, "rho", nan_obs, X0, 20, dt=0.01),
        "observable",
    )
    add(
        "finite_time_gradient",
        "complex observable",
        lambda: cj.finite_time_gradient(LOR, "rho", lambda x: x[0] * 1j, X0, 20, dt=0.01),
        "observable",
    )
    add(
        "finite_time_gradient",
        "observable x[5]",
        lambda: cj.finite_time_gradient(LOR, "rho", lambda x: x[5], X0, 20, dt=0.01),
        "observable",
    )
    add(
        "shadowing_sensitivity",
        "NaN observable",
        lambda: cj.shadowing_sensitivity(LOR, "rho", nan_obs, X0, steps=40, dt=0.01, segments=2),
        "observable",
    )
    add(
        "shadowing_sensitivity",
        "observable x[5]",
        lambda: cj.shadowing_sensitivity(
            LOR, "rho", lambda x: x[5], X0, steps=40, dt=0.01, segments=2
        ),
        "observable",
    )
    add(
        "shadowing_sensitivity",
        "observable None",
        lambda: cj.shadowing_sensitivity(LOR, "rho", None, X0, steps=40, dt=0.01, segments=2),
        "observable",
    )
    add(
        "sensitivity_blowup_table",
        "NaN observable",
        lambda: cj.sensitivity_blowup_table(
            LOR, "rho", nan_obs, horizons=[0.05], n_initial=2, dt=0.01
        ),
        "observable",
    )

    # --------------------------------------------------------------- ensembles
    ens = lambda **kw: cj.ensemble_time_average(  # noqa: E731
        **{"system": LOR, "key": key, "n": 2, "observable": obs2, "steps": 20, "dt": 0.01, **kw}
    )
    add("ensemble_time_average", "system str", lambda: ens(system="lorenz63"), "system")
    add("ensemble_time_average", "n 0", lambda: ens(n=0), "n")
    add("ensemble_time_average", "n 2.5", lambda: ens(n=2.5), "n")
    add("ensemble_time_average", "steps 0", lambda: ens(steps=0), "steps")
    add("ensemble_time_average", "dt NaN", lambda: ens(dt=nan), "dt")
    add("ensemble_time_average", "x0 wrong count", lambda: ens(x0=np.ones((3, 3))), "x0", "n")
    add("ensemble_time_average", "x0 NaN", lambda: ens(x0=np.full((2, 3), nan)), "x0")
    add("ensemble_time_average", "transient -1", lambda: ens(transient=-1), "transient")

    # --------------------------------------------------------------- keys
    split = jax.random.split(key)
    bad_keys = {
        "int": 3,
        "str": "abc",
        "split keys": split,
        "legacy split keys": jax.random.split(jax.random.PRNGKey(0)),
        "uint32 (3,)": np.zeros(3, np.uint32),
        "float (2,)": np.zeros(2),
    }
    keyed: dict[str, Callable[[Any], Any]] = {
        "ensemble_time_average": lambda k: ens(key=k),
        "lyapunov_spectrum": lambda k: cj.lyapunov_spectrum(LOR, X0, 20, dt=0.01, k=2, key=k),
        "max_lyapunov": lambda k: cj.max_lyapunov(LOR, X0, 20, dt=0.01, key=k),
        "covariant_lyapunov_vectors": lambda k: cj.covariant_lyapunov_vectors(
            LOR, X0, 20, dt=0.01, k=2, key=k
        ),
        "finite_time_lyapunov": lambda k: cj.finite_time_lyapunov(
            LOR, X0, window=5, windows=2, dt=0.01, key=k
        ),
        "NILSS": lambda k: cj.NILSS(key=k),
        "sensitivity_blowup_table": lambda k: cj.sensitivity_blowup_table(
            LOR, "rho", obs2, horizons=[0.05], n_initial=2, dt=0.01, key=k
        ),
        "systems.RNN.random": lambda k: cj.systems.RNN.random(k, 4),
        "systems.GRU.random": lambda k: cj.systems.GRU.random(k, 4),
        "systems.LSTM.random": lambda k: cj.systems.LSTM.random(k, 4),
        "system.sample_state": lambda k: LOR.sample_state(k, 2),
        "metrics.wasserstein": lambda k: cj.metrics.wasserstein(
            np.eye(4)[:3], np.eye(4)[1:], method="sliced", projections=8, key=k
        ),
        "learn.fit_esn": lambda k: cj.learn.fit_esn(xs, dt=0.02, key=k, n=10),
        "learn.fit_delay_mlp": lambda k: cj.learn.fit_delay_mlp(np.ones(50), key=k),
    }
    required = {
        "ensemble_time_average",
        "systems.RNN.random",
        "systems.GRU.random",
        "systems.LSTM.random",
        "system.sample_state",
        "learn.fit_esn",
        "learn.fit_delay_mlp",
    }
    for fn, f in keyed.items():
        keys = dict(bad_keys)
        if fn in required:
            keys["None"] = None
        for label, k in keys.items():
            add(fn, f"key {label}", lambda f=f, k=k: f(k), "key")

    # --------------------------------------------------------------- Kaplan-Yorke, time series
    ky = cj.kaplan_yorke_dimension
    for label, lam in {
        "NaN": [0.9, nan, -14.5],
        "inf": [0.9, inf, -14.5],
        "-inf": [0.9, 0.0, -inf],
        "empty": [],
        "complex": np.array([0.9 + 1j, -14.5]),
        "str": "abc",
        "None": None,
        "scalar": 2.0,
        "batch with NaN": np.array([[0.9, 0.0, -14.5], [nan, 0.0, -1.0]]),
    }.items():
        add("kaplan_yorke_dimension", f"exponents {label}", lambda lam=lam: ky(lam), "exponents")
    series = np.sin(np.arange(600) * 0.37) + np.cos(np.arange(600) * 0.11)
    lts = cj.lyapunov_from_timeseries
    for label, call, name in [
        ("constant series", lambda: lts(np.full(400, 2.5), dt=0.01), "series"),
        ("NaN in series", lambda: lts(np.where(np.arange(600) == 7, nan, series)), "series"),
        ("complex series", lambda: lts(series * 1j), "series"),
        ("2-D series", lambda: lts(np.ones((20, 30))), "series"),
        ("too short", lambda: lts(series[:5]), "series"),
        ("str series", lambda: lts("abc"), "series"),
        ("dt 0", lambda: lts(series, dt=0.0), "dt"),
        ("dt NaN", lambda: lts(series, dt=nan), "dt"),
        ("dim 0", lambda: lts(series, dim=0), "dim"),
        ("lag 0", lambda: lts(series, lag=0), "lag"),
        ("method 'wolf'", lambda: lts(series, method="wolf"), "method"),
        ("horizon 0", lambda: lts(series, horizon=0), "horizon"),
        ("fit_range reversed", lambda: lts(series, fit_range=(10, 2)), "fit_range"),
        ("theiler -1", lambda: lts(series, theiler=-1), "theiler"),
    ]:
        add("lyapunov_from_timeseries", label, call, name)

    # --------------------------------------------------------------- sensitivities
    ftg = lambda **kw: cj.finite_time_gradient(  # noqa: E731
        **{
            "system": LOR,
            "param": "rho",
            "observable": obs2,
            "x0": X0,
            "steps": 20,
            "dt": 0.01,
            **kw,
        }
    )
    for label, kw, name in [
        ("param unknown", dict(param="rh"), "param"),
        ("param int", dict(param=3), "param"),
        ("steps 0", dict(steps=0), "steps"),
        ("steps 2**70", dict(steps=2**70), "steps"),
        ("x0 NaN", dict(x0=np.full(3, nan)), "x0"),
        ("x0 shape (2,)", dict(x0=np.ones(2)), "x0"),
        ("dt 0", dict(dt=0.0), "dt"),
        ("mode 'sideways'", dict(mode="sideways"), "mode"),
        ("transient -1", dict(transient=-1), "transient"),
        ("system str", dict(system="lorenz63"), "system"),
    ]:
        add("finite_time_gradient", label, lambda kw=kw: ftg(**kw), name)
    shs = lambda **kw: cj.shadowing_sensitivity(  # noqa: E731
        **{
            "system": LOR,
            "param": "rho",
            "observable": obs2,
            "x0": X0,
            "steps": 40,
            "dt": 0.01,
            "segments": 2,
            **kw,
        }
    )
    for label, kw, name in [
        ("param unknown", dict(param="rh"), "param"),
        ("segments 0", dict(segments=0), "segments"),
        ("segments > steps", dict(segments=100), "segments"),
        ("steps 0", dict(steps=0), "steps"),
        ("steps 2**70", dict(steps=2**70), "steps"),
        ("x0 NaN", dict(x0=np.full(3, nan)), "x0"),
        ("method 'exact'", dict(method="exact"), "method"),
        ("dt -1", dict(dt=-1.0), "dt"),
        ("system None", dict(system=None), "system"),
        ("transient -1", dict(transient=-1), "transient"),
    ]:
        add("shadowing_sensitivity", label, lambda kw=kw: shs(**kw), name)
    add("LSS", "alpha -1", lambda: cj.LSS(alpha=-1.0), "alpha")
    add("LSS", "alpha NaN", lambda: cj.LSS(alpha=nan), "alpha")
    add("NILSS", "num_unstable 0", lambda: cj.NILSS(num_unstable=0), "num_unstable")
    add("NILSS", "segment_steps 0", lambda: cj.NILSS(segment_steps=0), "segment_steps")
    add("NILSS", "num_unstable > dim", lambda: shs(method=cj.NILSS(num_unstable=5)), "num_unstable")
    sbt = lambda **kw: cj.sensitivity_blowup_table(  # noqa: E731
        **{
            "system": LOR,
            "param": "rho",
            "observable": obs2,
            "horizons": [0.05],
            "n_initial": 2,
            "dt": 0.01,
            **kw,
        }
    )
    for label, kw, name in [
        ("horizons []", dict(horizons=[]), "horizons"),
        ("horizons [-1]", dict(horizons=[-1.0]), "horizons"),
        ("horizons [NaN]", dict(horizons=[nan]), "horizons"),
        ("horizons str", dict(horizons="1,2"), "horizons"),
        ("n_initial 0", dict(n_initial=0), "n_initial"),
        ("param unknown", dict(param="rh"), "param"),
        ("x0 NaN", dict(x0=np.full((2, 3), nan)), "x0"),
        ("spinup -1", dict(spinup=-1), "spinup"),
        ("mode 'x'", dict(mode="x"), "mode"),
    ]:
        add("sensitivity_blowup_table", label, lambda kw=kw: sbt(**kw), name)

    # --------------------------------------------------------------- adaptive solver
    sa = lambda flow=LOR, x0=X0, ts=(0.0, 1.0), **kw: cj.solve_adaptive(  # noqa: E731
        flow, x0, np.asarray(ts) if isinstance(ts, tuple) else ts, **kw
    )
    for label, kw, name in [
        ("ts with NaN", dict(ts=[0.0, nan, 1.0]), "ts"),
        ("ts unsorted", dict(ts=[0.0, 2.0, 1.0]), "ts"),
        ("ts empty", dict(ts=[]), "ts"),
        ("ts 2-D", dict(ts=[[0.0, 1.0]]), "ts"),
        ("ts str", dict(ts="0,1"), "ts"),
        ("x0 NaN", dict(x0=[nan, 1.0, 1.0]), "x0"),
        ("x0 shape (2,)", dict(x0=[1.0, 1.0]), "x0"),
        ("x0 complex", dict(x0=X0.astype(np.complex128)), "x0"),
        ("a map instead of a flow", dict(flow=HEN), "flow"),
        ("flow str", dict(flow="lorenz63"), "flow"),
        ("max_steps 0", dict(max_steps=0), "max_steps"),
        ("max_steps reached", dict(ts=[0.0, 0.01, 5.0], max_steps=20), "max_steps"),
        ("dt0 -1", dict(dt0=-1.0), "dt0"),
        ("rtol -1", dict(rtol=-1.0), "rtol"),
        ("atol NaN", dict(atol=nan), "atol"),
        ("solver 'rk4'", dict(solver="rk4"), "solver"),
        ("solver 'rk45'", dict(solver="rk45"), "solver"),
    ]:
        add("solve_adaptive", label, lambda kw=kw: sa(**kw), name)

    # --------------------------------------------------------------- bifurcation
    od = lambda **kw: cj.orbit_diagram(  # noqa: E731
        **{
            "system": LOG,
            "param": "r",
            "values": np.array([3.5, 3.6]),
            "transient": 5,
            "keep": 4,
            **kw,
        }
    )
    for label, kw, name in [
        ("values with NaN", dict(values=np.array([3.5, nan])), "values"),
        ("values empty", dict(values=np.array([])), "values"),
        ("values complex", dict(values=np.array([3.5 + 1j])), "values"),
        ("values str", dict(values="3.5"), "values"),
        ("keep 0", dict(keep=0), "keep"),
        ("keep 2.5", dict(keep=2.5), "keep"),
        ("transient -1", dict(transient=-1), "transient"),
        ("param None", dict(param=None), "param"),
        ("x0 NaN", dict(x0=np.array([nan])), "x0"),
        ("x0 shape (2,)", dict(x0=np.ones(2)), "x0"),
        ("system str", dict(system="logistic"), "system"),
        ("flow without dt", dict(system=LOR_NO_DT, param="rho", values=np.array([28.0])), "dt"),
    ]:
        add("orbit_diagram", label, lambda kw=kw: od(**kw), name)
    add_raw("orbit_diagram", "param unknown", lambda: od(param="rr"), "'rr'")
    po = cj.periodic_orbits
    guesses = np.linspace(0.1, 0.9, 5)[:, None]
    log32 = cj.systems.Logistic(r=3.2)
    for label, call, name in [
        ("minimal 'no'", lambda: po(log32, guesses, 2, minimal="no"), "minimal"),
        ("minimal 0", lambda: po(log32, guesses, 2, minimal=0), "minimal"),
        ("minimal None", lambda: po(log32, guesses, 2, minimal=None), "minimal"),
        ("period 0", lambda: po(log32, guesses, 0), "period"),
        ("period 2.5", lambda: po(log32, guesses, 2.5), "period"),
        ("period -1", lambda: po(log32, guesses, -1), "period"),
        ("guesses NaN", lambda: po(log32, np.full((2, 1), nan), 2), "guesses"),
        ("guesses shape (5, 2)", lambda: po(log32, np.ones((5, 2)), 2), "guesses"),
        ("guesses str", lambda: po(log32, "0.5", 2), "guesses"),
        ("a flow", lambda: po(LOR, np.ones((2, 3)), 2), "system"),
        ("tol -1", lambda: po(log32, guesses, 2, tol=-1.0), "tol"),
        ("max_iter 0", lambda: po(log32, guesses, 2, max_iter=0), "max_iter"),
    ]:
        add("periodic_orbits", label, call, name)
    for label, call, name in [
        ("guesses NaN", lambda: cj.fixed_points(HEN, np.full((2, 2), nan)), "guesses"),
        ("guesses shape (3,)", lambda: cj.fixed_points(HEN, np.ones(3)), "guesses"),
        ("tol NaN", lambda: cj.fixed_points(HEN, np.zeros((1, 2)), tol=nan), "tol"),
        ("system None", lambda: cj.fixed_points(None, np.zeros((1, 2))), "system"),
    ]:
        add("fixed_points", label, call, name)
    for label, call, name in [
        ("points complex", lambda: cj.detect_period(np.ones((8, 1)) * 1j), "points"),
        ("points str", lambda: cj.detect_period("abc"), "points"),
        ("max_period 0", lambda: cj.detect_period(np.ones((8, 1)), max_period=0), "max_period"),
        ("tol -1", lambda: cj.detect_period(np.ones((8, 1)), tol=-1.0), "tol"),
    ]:
        add("detect_period", label, call, name)

    # --------------------------------------------------------------- systems
    for label, value in {
        "NaN": nan,
        "inf": inf,
        "str": "abc",
        "None": None,
        "complex": 1.0 + 2.0j,
        "list (2,)": [1.0, 2.0],
        "2-D": np.ones((2, 2)),
        "dict": {"a": 1},
    }.items():
        add("systems.get", f"rho {label}", lambda v=value: cj.systems.get("lorenz63", rho=v), "rho")
        # Non-finite and complex values are kept by the constructor (JAX transforms
        # build systems from traced values) and refused by the first algorithm given
        # the system: the case is "build it, then simulate".
        later = label in ("NaN", "inf", "complex")
        add_raw(
            "system constructors",
            f"Lorenz63(rho={label})" + (" then trajectory" if later else ""),
            (lambda v=value: cj.trajectory(cj.systems.Lorenz63(rho=v), X0, steps=5, dt=0.01))
            if later
            else (lambda v=value: cj.systems.Lorenz63(rho=v)),
            "rho",
        )
    for label, call, name in [
        ("Henon(b='x')", lambda: cj.systems.Henon(b="x"), "b"),
        ("Logistic(r=[3, 4])", lambda: cj.systems.Logistic(r=[3.0, 4.0]), "r"),
        ("Rossler(c=None)", lambda: cj.systems.Rossler(c=None), "c"),
        ("Lorenz96(n=0)", lambda: cj.systems.Lorenz96(n=0), "n"),
        ("LinearFlow(A=1-D)", lambda: cj.systems.LinearFlow(A=np.ones(3)), "A"),
        ("LinearFlow(A=str)", lambda: cj.systems.LinearFlow(A="eye"), "A"),
    ]:
        add("system constructors", label, call, name)
    add_raw(
        "system constructors",
        "Henon(a=NaN) then trajectory",
        lambda: cj.trajectory(cj.systems.Henon(a=nan), np.zeros(2), steps=5),
        "`a`",
        ".a",
    )
    add_raw(
        "system constructors",
        "Lorenz96(F=inf) then lyapunov_spectrum",
        lambda: cj.lyapunov_spectrum(cj.systems.Lorenz96(F=inf), None, 5, dt=0.01),
        "`F`",
        ".F",
    )
    add_raw("systems.get", "unknown name", lambda: cj.systems.get("lorenz64"), "'lorenz64'")
    add_raw("systems.get", "name with a typo", lambda: cj.systems.get("henom"), "'henom'")
    add("systems.get", "name None", lambda: cj.systems.get(None), "name")
    add_raw("systems.get", "unknown parameter", lambda: cj.systems.get("lorenz63", rh=2.0), "'rh'")
    add("systems.get", "preset, rho str", lambda: cj.systems.get("henon", a="x"), "a")
    for label, call, name in [
        ("n 0", lambda: cj.systems.RNN.random(key, 0), "n"),
        ("n 2.5", lambda: cj.systems.GRU.random(key, 2.5), "n"),
        ("n_inputs -1", lambda: cj.systems.LSTM.random(key, 4, n_inputs=-1), "n_inputs"),
    ]:
        add("systems.RNN/GRU/LSTM.random", label, call, name)
    add("system.sample_state", "n 0", lambda: LOR.sample_state(key, 0), "n")
    add("system.sample_state", "n 'two'", lambda: HEN.sample_state(key, "two"), "n")

    # --------------------------------------------------------------- io
    ds = cj.io.trajectory_dataset(HEN, np.zeros((3, 2)), dt=None)
    good = cj.io.save(ds, scratch / "good.nc")
    data = good.read_bytes()
    (scratch / "text.nc").write_text("x,y\n1,2\n")
    (scratch / "empty.nc").write_bytes(b"")
    (scratch / "half.nc").write_bytes(data[: len(data) // 2])
    (scratch / "adir.nc").mkdir(exist_ok=True)
    blocker = scratch / "a_file"
    blocker.write_text("not a directory")
    for label, path, names in [
        ("non-NetCDF file", scratch / "text.nc", ("text.nc",)),
        ("empty file", scratch / "empty.nc", ("empty.nc",)),
        ("truncated file", scratch / "half.nc", ("half.nc",)),
        ("missing file", scratch / "missing.nc", ("missing.nc",)),
        ("a directory", scratch / "adir.nc", ("adir.nc",)),
        ("None", None, ("`path`",)),
        ("int", 3, ("`path`",)),
        ("unknown suffix", scratch / "x.csv", ("x.csv", "`path`", "`format`")),
    ]:
        add_raw("io.load", label, lambda p=path: cj.io.load(p), *names)
    for label, call, names in [
        ("path None", lambda: cj.io.save(ds, None), ("`path`",)),
        ("ds None", lambda: cj.io.save(None, scratch / "n.nc"), ("`ds`",)),
        ("ds a dict", lambda: cj.io.save({"a": 1}, scratch / "n.nc"), ("`ds`",)),
        ("format 'csv'", lambda: cj.io.save(ds, scratch / "n.nc", format="csv"), ("`format`",)),
        (
            "unknown suffix",
            lambda: cj.io.save(ds, scratch / "n.txt"),
            ("n.txt", "`path`", "`format`"),
        ),
        ("parent is a file", lambda: cj.io.save(ds, blocker / "n.nc"), ("a_file/n.nc",)),
        ("target is a directory", lambda: cj.io.save(ds, scratch / "adir.nc"), ("adir.nc",)),
        ("in /proc", lambda: cj.io.save(ds, "/proc/x.nc"), ("/proc/x.nc",)),
    ]:
        add_raw("io.save", label, call, *names)

    # --------------------------------------------------------------- learn
    xs_nan = xs.copy()
    xs_nan[10, 1] = nan
    L = cj.learn
    for label, call, name in [
        ("data NaN", lambda: L.fit_sindy(xs_nan, dt=0.02), "data"),
        ("data complex", lambda: L.fit_sindy(xs.astype(np.complex128), dt=0.02), "data"),
        ("data 1-D", lambda: L.fit_sindy(xs[:, 0], dt=0.02), "data"),
        ("data str", lambda: L.fit_sindy("xs.nc", dt=0.02), "data"),
        ("dt 0", lambda: L.fit_sindy(xs, dt=0.0), "dt"),
        ("dt NaN", lambda: L.fit_sindy(xs, dt=nan), "dt"),
        ("threshold -1", lambda: L.fit_sindy(xs, dt=0.02, threshold=-1.0), "threshold"),
        ("library 'quartic'", lambda: L.fit_sindy(xs, dt=0.02, library="quartic"), "library"),
        ("derivative 'fd3'", lambda: L.fit_sindy(xs, dt=0.02, derivative="fd3"), "derivative"),
        ("max_iter 0", lambda: L.fit_sindy(xs, dt=0.02, max_iter=0), "max_iter"),
        ("var_names wrong count", lambda: L.fit_sindy(xs, dt=0.02, var_names=["a"]), "var_names"),
    ]:
        add("learn.fit_sindy", label, call, name)
    for label, call, name in [
        ("data NaN", lambda: L.fit_esn(xs_nan, dt=0.02, key=key, n=10), "data"),
        ("n 0", lambda: L.fit_esn(xs, dt=0.02, key=key, n=0), "n"),
        (
            "spectral_radius NaN",
            lambda: L.fit_esn(xs, dt=0.02, key=key, n=10, spectral_radius=nan),
            "spectral_radius",
        ),
        ("leak 2", lambda: L.fit_esn(xs, dt=0.02, key=key, n=10, leak=2.0), "leak"),
        ("density 0", lambda: L.fit_esn(xs, dt=0.02, key=key, n=10, density=0.0), "density"),
        ("ridge -1", lambda: L.fit_esn(xs, dt=0.02, key=key, n=10, ridge=-1.0), "ridge"),
        (
            "features 'cubic'",
            lambda: L.fit_esn(xs, dt=0.02, key=key, n=10, features="cubic"),
            "features",
        ),
        ("washout > data", lambda: L.fit_esn(xs, dt=0.02, key=key, n=10, washout=10**6), "washout"),
    ]:
        add("learn.fit_esn", label, call, name)
    for label, call, name in [
        ("data NaN", lambda: L.fit_ngrc(xs_nan, dt=0.02), "data"),
        ("lags 0", lambda: L.fit_ngrc(xs, dt=0.02, lags=0), "lags"),
        ("skip 0", lambda: L.fit_ngrc(xs, dt=0.02, skip=0), "skip"),
        ("degree -1", lambda: L.fit_ngrc(xs, dt=0.02, degree=-1), "degree"),
        ("ridge NaN", lambda: L.fit_ngrc(xs, dt=0.02, ridge=nan), "ridge"),
        ("dt 0", lambda: L.fit_ngrc(xs, dt=0.0), "dt"),
    ]:
        add("learn.fit_ngrc", label, call, name)
    s1 = xs[:, 0]
    for label, call, name in [
        (
            "series NaN",
            lambda: L.fit_delay_mlp(
                np.where(np.arange(s1.size) == 3, nan, s1), key=key, restarts=1
            ),
            "series",
        ),
        ("lags 0", lambda: L.fit_delay_mlp(s1, key=key, lags=0), "lags"),
        ("hidden 0", lambda: L.fit_delay_mlp(s1, key=key, hidden=0), "hidden"),
        ("restarts 0", lambda: L.fit_delay_mlp(s1, key=key, restarts=0), "restarts"),
        (
            "activation 'swish2'",
            lambda: L.fit_delay_mlp(s1, key=key, activation="swish2"),
            "activation",
        ),
        ("trainer 'sgd'", lambda: L.fit_delay_mlp(s1, key=key, trainer="sgd"), "trainer"),
        (
            "validation_fraction 1.5",
            lambda: L.fit_delay_mlp(s1, key=key, validation_fraction=1.5),
            "validation_fraction",
        ),
    ]:
        add("learn.fit_delay_mlp", label, call, name)
    for label, call, name in [
        ("data NaN", lambda: L.fit_neural_ode(xs_nan, dt=0.02, key=key, steps=2), "data"),
        ("key None", lambda: L.fit_neural_ode(xs, dt=0.02, key=None, steps=2), "key"),
        ("key int", lambda: L.fit_neural_ode(xs, dt=0.02, key=3, steps=2), "key"),
        ("hidden 0", lambda: L.fit_neural_ode(xs, dt=0.02, key=key, hidden=0, steps=2), "hidden"),
        (
            "segment_steps 0",
            lambda: L.fit_neural_ode(xs, dt=0.02, key=key, segment_steps=0, steps=2),
            "segment_steps",
        ),
        (
            "solver 'rk45'",
            lambda: L.fit_neural_ode(xs, dt=0.02, key=key, solver="rk45", steps=2),
            "solver",
        ),
        (
            "optimizer 'sgd2'",
            lambda: L.fit_neural_ode(xs, dt=0.02, key=key, optimizer="sgd2", steps=2),
            "optimizer",
        ),
    ]:
        add("learn.fit_neural_ode", label, call, name)
    for label, call, name in [
        ("data NaN", lambda: L.fit_linear_flow(xs_nan, dt=0.02), "data"),
        ("dt -1", lambda: L.fit_linear_flow(xs, dt=-1.0), "dt"),
        ("lags 0", lambda: L.delay_embed(s1, 0), "lags"),
        ("lags > length", lambda: L.delay_embed(s1[:3], 5), "lags"),
        ("GridTokenizer n 0", lambda: L.GridTokenizer.fit(xs, 0), "n"),
        ("GridTokenizer states NaN", lambda: L.GridTokenizer.fit(xs_nan, 4), "states"),
        ("fit_svr lags 0", lambda: L.fit_svr(s1, lags=0), "lags"),
        ("fit_svr C -1", lambda: L.fit_svr(s1, C=-1.0), "C"),
    ]:
        add("learn (other)", label, call, name)
    for label, call, name in [
        ("model str", lambda: L.evaluate("model.eqx", LOR, dt=0.02, starts=2), "model"),
        ("truth None", lambda: L.evaluate(LOR, None, dt=0.02, starts=2), "truth"),
        ("starts 0", lambda: L.evaluate(LOR, LOR, dt=0.02, starts=0), "starts"),
        ("threshold NaN", lambda: L.evaluate(LOR, LOR, dt=0.02, threshold=nan), "threshold"),
        ("horizon -1", lambda: L.evaluate(LOR, LOR, dt=0.02, horizon=-1.0), "horizon"),
        ("key str", lambda: L.evaluate(LOR, LOR, dt=0.02, key="k"), "key"),
    ]:
        add("learn.evaluate", label, call, name)

    # --------------------------------------------------------------- metrics
    M = cj.metrics
    for label, call, name in [
        ("true NaN", lambda: M.valid_prediction_time(xs, xs_nan), "true"),
        ("pred complex", lambda: M.valid_prediction_time(xs.astype(np.complex128), xs), "pred"),
        ("shapes differ", lambda: M.valid_prediction_time(xs, xs[:, :2]), "true"),
        ("threshold 0", lambda: M.valid_prediction_time(xs, xs, threshold=0.0), "threshold"),
        ("threshold NaN", lambda: M.valid_prediction_time(xs, xs, threshold=nan), "threshold"),
        ("dt -1", lambda: M.valid_prediction_time(xs, xs, dt=-1.0), "dt"),
        (
            "lyapunov_time 0",
            lambda: M.valid_prediction_time(xs, xs, lyapunov_time=0.0),
            "lyapunov_time",
        ),
    ]:
        add("metrics.valid_prediction_time", label, call, name)
    for label, call, name in [
        ("a NaN", lambda: M.wasserstein(xs_nan, xs), "a"),
        ("b complex", lambda: M.wasserstein(xs, xs.astype(np.complex128)), "b"),
        ("dims differ", lambda: M.wasserstein(xs, xs[:, :2]), "b"),
        ("method 'exact2'", lambda: M.wasserstein(xs, xs, method="exact2"), "method"),
        ("p 0", lambda: M.wasserstein(xs, xs, p=0.0), "p"),
        ("bins 0", lambda: M.wasserstein(xs, xs, method="binned", bins=0), "bins"),
        (
            "projections 0",
            lambda: M.wasserstein(xs, xs, method="sliced", projections=0, key=key),
            "projections",
        ),
        ("a empty", lambda: M.wasserstein(np.ones((0, 3)), xs), "a"),
    ]:
        add("metrics.wasserstein", label, call, name)
    for label, call, name in [
        ("spectrum_distance NaN", lambda: M.spectrum_distance([0.9, nan], [0.9, 0.0]), "learned"),
        ("spectrum_distance empty", lambda: M.spectrum_distance([], [0.9]), "learned"),
        ("smape true NaN", lambda: M.smape(xs, xs_nan), "true"),
        ("power_spectrum_distance dt 0", lambda: M.power_spectrum_distance(xs, xs, dt=0.0), "dt"),
        (
            "autocorrelation_distance max_lag 0",
            lambda: M.autocorrelation_distance(xs, xs, max_lag=0),
            "max_lag",
        ),
        (
            "autocorrelation_distance max_lag > T",
            lambda: M.autocorrelation_distance(xs, xs, max_lag=10**6),
            "max_lag",
        ),
        (
            "divergence_time condition -1",
            lambda: M.divergence_time(
                np.zeros((1, 8), int), np.zeros((1, 2, 8), int), condition=-1
            ),
            "condition",
        ),
    ]:
        add("metrics (other)", label, call, name)

    # --------------------------------------------------------------- other public functions
    for label, call, name in [
        (
            "finite_time_lyapunov window 0",
            lambda: cj.finite_time_lyapunov(LOR, X0, window=0, windows=2, dt=0.01),
            "window",
        ),
        (
            "finite_time_lyapunov windows 0",
            lambda: cj.finite_time_lyapunov(LOR, X0, window=5, windows=0, dt=0.01),
            "windows",
        ),
        (
            "finite_time_lyapunov x0 NaN",
            lambda: cj.finite_time_lyapunov(LOR, np.full(3, nan), window=5, windows=2, dt=0.01),
            "x0",
        ),
        (
            "finite_n_lyapunov orbit NaN",
            lambda: cj.finite_n_lyapunov(HEN, np.full((10, 2), nan)),
            "orbit",
        ),
        (
            "finite_n_lyapunov n_max 0",
            lambda: cj.finite_n_lyapunov(HEN, np.zeros((10, 2)), n_max=0),
            "n_max",
        ),
        (
            "lag_sensitivities output 5",
            lambda: cj.lag_sensitivities(
                cj.systems.DelayedHenon(), cj.systems.DelayedHenon().default_state(), 20, output=5
            ),
            "output",
        ),
        ("classify_attractor x0 NaN", lambda: cj.classify_attractor(HEN, np.full(2, nan)), "x0"),
        ("discretize dt 0", lambda: cj.discretize(LOR, 0.0), "dt"),
    ]:
        add("other", label, call, name)
    add("other", "discretize a map", lambda: cj.discretize(HEN, 0.01), "flow", "system")

    # ------------------------------------------- lengths by time, forced flows, sweeps, files
    for fn in ("trajectory", "time_average", "lyapunov_spectrum"):
        f = sims[fn]
        both = dict(steps=20, t_final=0.2, dt=0.01)
        add(fn, "steps and t_final", lambda f=f, kw=both: f(**kw), "steps", "t_final")
        for label, t in (("NaN", nan), ("-1", -1.0), ("str", "1"), ("not whole steps", 0.015)):
            add(
                fn,
                f"t_final {label}",
                lambda f=f, t=t: f(steps=None, t_final=t, dt=0.01),
                "t_final",
            )
    add(
        "trajectory",
        "times 'yes'",
        lambda: cj.trajectory(LOR, X0, steps=20, dt=0.01, times="yes"),
        "times",
    )
    duff = cj.systems.ForcedDuffing()
    for label, call, name in [
        ("period 0", lambda: cj.StroboscopicMap(duff, period=0.0), "period"),
        ("period NaN", lambda: cj.StroboscopicMap(duff, period=nan), "period"),
        (
            "steps_per_period 0",
            lambda: cj.StroboscopicMap(duff, steps_per_period=0),
            "steps_per_period",
        ),
        ("a map", lambda: cj.StroboscopicMap(HEN, period=1.0), "flow"),
    ]:
        add("StroboscopicMap", label, call, name)
    for label, call, name in [
        ("section str", lambda: cj.PoincareMap(LOR, "z=27"), "section"),
        ("a map", lambda: cj.PoincareMap(HEN, cj.Hyperplane(normal=[1.0, 0.0])), "flow"),
        (
            "dt -1",
            lambda: cj.PoincareMap(
                LOR, cj.Hyperplane(normal=[0.0, 0.0, 1.0], offset=27.0), dt=-1.0
            ),
            "dt",
        ),
    ]:
        add("PoincareMap", label, call, name)

    def largest(r):
        return cj.max_lyapunov(cj.systems.Logistic(r=r), np.array([0.3]), 50).largest

    def sweep_twice(first, second):
        out = Path(tempfile.mkdtemp(dir=scratch)) / "s.zarr"
        cj.sweep(first, {"r": np.linspace(3.5, 4.0, 4)}, out=str(out))
        return cj.sweep(second, {"r": np.linspace(3.5, 4.0, 4)}, out=str(out))

    for label, call, name in [
        ("grid with NaN", lambda: cj.sweep(largest, {"r": np.array([3.5, nan])}), "grid['r']"),
        ("grid empty", lambda: cj.sweep(largest, {"r": np.array([])}), "grid['r']"),
        ("grid str", lambda: cj.sweep(largest, "r"), "grid"),
        (
            "batch_size > grid",
            lambda: cj.sweep(largest, {"r": np.ones(4)}, batch_size=8),
            "batch_size",
        ),
        ("batch_size 0", lambda: cj.sweep(largest, {"r": np.ones(4)}, batch_size=0), "batch_size"),
        ("fn not callable", lambda: cj.sweep(3, {"r": np.ones(4)}), "fn"),
        ("out of another sweep", lambda: sweep_twice(largest, lambda r: r * 2.0), "out"),
    ]:
        add("sweep", label, call, name)

    def load_system_of(text):
        path = Path(tempfile.mkdtemp(dir=scratch)) / "f.nc"
        xr.Dataset(
            {"a": ("t", np.ones(2))}, attrs={"system_class": text, "parameters": "{}"}
        ).to_netcdf(path)
        return cj.io.load_system(path)

    for label, call, name in [
        ("None", lambda: cj.io.load_system(None), "source"),
        ("no provenance", lambda: load_system_of(""), "system"),
        ("unknown class", lambda: load_system_of("chaosjax.systems:NoSuchSystem"), "NoSuchSystem"),
    ]:
        add_raw("io.load_system", label, call, name)
    return cases


def classify_exception(
    e: BaseException, names: tuple[str, ...], file_case: bool = False
) -> tuple[str, str]:
    """(outcome, one-line detail) of an exception raised by a case."""
    import chaosjax as cj

    text = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"[:300]
    tb = e.__traceback__
    frames = traceback.extract_tb(tb) if tb is not None else []
    inner = frames[-1].filename if frames else ""
    ours = f"{os.sep}chaosjax{os.sep}" in inner and f"{os.sep}benchmarks{os.sep}" not in inner
    # A file that cannot be read or written: an OSError naming it is the clear error.
    allowed = (ValueError, TypeError, cj.DivergenceError) + ((OSError,) if file_case else ())
    if not isinstance(e, allowed):
        return "unclear", text
    if not ours:
        return "unclear", f"{text} (raised in {Path(inner).name})"
    message = str(e)
    if not any(n.lower() in message.lower() for n in names):
        return "unclear", f"{text} (does not name {' or '.join(names)})"
    return "clear", text


class _Timeout(BaseException):
    pass


def _alarm(signum, frame):
    raise _Timeout()


def worker(indices: list[int], scratch: Path, timeout: int) -> None:
    """Run the cases `indices`, one JSON line each on stdout (START line first)."""
    import jax

    cases = api_cases(scratch)
    signal.signal(signal.SIGALRM, _alarm)
    out = sys.stdout
    for i in indices:
        case = cases[i]
        print(json.dumps({"start": i}), file=out, flush=True)
        t0 = time.perf_counter()
        signal.alarm(timeout)
        try:
            result = case.call()
            jax.block_until_ready(jax.tree_util.tree_leaves(result))
            signal.alarm(0)
            outcome, detail = "silent", f"returned {type(result).__name__}"
        except _Timeout:
            outcome, detail = "hang", f"no answer within {timeout} s"
        except KeyboardInterrupt:
            signal.alarm(0)
            outcome, detail = "unclear", "KeyboardInterrupt"
        except Exception as e:  # noqa: BLE001 - every exception is classified
            signal.alarm(0)
            outcome, detail = classify_exception(e, case.names, case.function.startswith("io."))
        finally:
            signal.alarm(0)
        secs = time.perf_counter() - t0
        print(json.dumps({"i": i, "outcome": outcome, "detail": detail, "s": secs}), flush=True)


def _limit_memory(gb: float) -> Callable[[], None]:
    def apply() -> None:
        import resource

        limit = int(gb * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    return apply


def _env(x64: bool) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(SRC), PYTHONUNBUFFERED="1", JAX_PLATFORMS="cpu")
    env.pop("CHAOSJAX_DEBUG", None)
    env["JAX_ENABLE_X64"] = "1" if x64 else "0"
    return env


def run_api(
    n_cases: int, indices: list[int], args: argparse.Namespace, scratch: Path
) -> dict[int, dict]:
    """Run the API cases `indices` in `args.jobs` workers; a dead or stalled worker is
    restarted after the case it was running."""
    results: dict[int, dict] = {}
    lock = threading.Lock()
    shards = [indices[j :: args.jobs] for j in range(args.jobs)]

    def drive(todo: list[int]) -> None:
        while todo:
            cmd = [
                sys.executable,
                __file__,
                "--worker",
                ",".join(map(str, todo)),
                "--src",
                str(SRC),
                "--scratch",
                str(scratch),
                "--case-timeout",
                str(args.case_timeout),
            ]
            proc = subprocess.Popen(
                cmd,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=_env(args.x64),
                preexec_fn=_limit_memory(args.memory_limit),
            )
            assert proc.stdout is not None
            fd = proc.stdout.fileno()
            current: int | None = None
            started = time.monotonic()
            # The import and the first compilations: give the first case more time.
            deadline = started + args.case_timeout + 120
            # Raw reads (a buffered readline would hide lines from select).
            pending = b""
            dead = None
            while True:
                ready, _, _ = select.select([fd], [], [], 1.0)
                if ready:
                    chunk = os.read(fd, 1 << 16)
                    if not chunk:
                        proc.wait()
                        dead = f"worker exited with status {proc.returncode}"
                        break
                    pending += chunk
                    *lines, pending = pending.split(b"\n")
                    for raw in lines:
                        buf = raw.decode(errors="replace").strip()
                        if not buf.startswith("{"):
                            continue
                        msg = json.loads(buf)
                        if "start" in msg:
                            current = msg["start"]
                            deadline = time.monotonic() + args.case_timeout + 30
                            continue
                        with lock:
                            results[msg["i"]] = msg
                            done = len(results)
                        if args.verbose or msg["outcome"] != "clear":
                            print(
                                f"  [{done}/{len(indices)}] #{msg['i']} {msg['outcome']}: "
                                f"{msg['detail'][:120]}",
                                flush=True,
                            )
                        todo = [i for i in todo if i != msg["i"]]
                        current = None
                    if not todo:
                        proc.wait()
                        return
                elif time.monotonic() > deadline:
                    proc.kill()
                    proc.wait()
                    dead = "hang"
                    break
                elif proc.poll() is not None:
                    dead = f"worker exited with status {proc.returncode}"
                    break
            # The worker died or stalled: blame the case it was running (or the next).
            blamed = current if current is not None else todo[0]
            if dead == "hang":
                outcome, detail = "hang", f"no answer within {args.case_timeout + 30} s (killed)"
            else:
                code = proc.returncode
                sig = -code if code is not None and code < 0 else None
                name = signal.Signals(sig).name if sig else f"status {code}"
                outcome, detail = "crash", f"the process died ({name})"
            with lock:
                results[blamed] = {"i": blamed, "outcome": outcome, "detail": detail, "s": None}
            print(f"  #{blamed} {outcome}: {detail}", flush=True)
            todo = [i for i in todo if i != blamed]

    with ThreadPoolExecutor(args.jobs) as pool:
        list(pool.map(drive, shards))
    return results


# =========================================================================== CLI cases


def cli_cases() -> list[CliCase]:
    """Every bad command line (files they need are written by `setup` into the scratch
    directory, which is the working directory of the command)."""
    cases: list[CliCase] = []

    def add(command: str, label: str, args: list[Any], *names: str, setup=None) -> None:
        cases.append(CliCase(command, label, [str(a) for a in args], names, setup))

    def write(name: str, text: str, mode: int | None = None):
        def setup(d: Path) -> None:
            p = d / name
            if p.exists():
                p.chmod(0o644)
            p.write_text(textwrap.dedent(text))
            if mode is not None:
                p.chmod(mode)

        return setup

    def many(*setups):
        def setup(d: Path) -> None:
            for s in setups:
                s(d)

        return setup

    bad_sys = write(
        "bad.py",
        """
        import jax.numpy as jnp
        import chaosjax as cj

        class Bad(cj.Flow):
            def vector_field(self, x):
                return jnp.zeros(5)
            def default_state(self):
                return jnp.ones(2)

        class Raises(cj.Flow):
            def vector_field(self, x):
                raise RuntimeError("boom")
            def default_state(self):
                return jnp.ones(2)

        class NotASystem:
            pass
        """,
    )
    syntax = write("syntax.py", "def f(:\n")
    nc_text = write("text.nc", "x,y\n1,2\n")
    readonly_nc = write("ro.nc", "keep me", 0o444)
    readonly_png = write("ro.png", "keep me", 0o444)

    # Per simulation-like command: parameters, counts, files.
    for cmd, extra in [
        ("simulate", ["--out", "x.nc", "-q"]),
        ("lyapunov", ["--no-plot", "-q"]),
        ("sensitivity", ["--no-plot", "-q", "--method", "lss"]),
        ("bifurcation", ["--no-plot", "-q"]),
    ]:
        system = "logistic" if cmd == "bifurcation" else "lorenz63"
        rho = "r" if cmd == "bifurcation" else "rho"
        add(cmd, "--param value NaN", [cmd, system, "--param", f"{rho}=nan", *extra], rho)
        add(cmd, "--param value a list", [cmd, system, "--param", f"{rho}=[1,2]", *extra], rho)
        add(cmd, "--param value a str", [cmd, system, "--param", f"{rho}=abc", *extra], rho)
        add(cmd, "--param unknown name", [cmd, system, "--param", "rh=1", *extra], "rh")
        if cmd in ("simulate", "lyapunov"):  # elsewhere a bare --param names the parameter
            add(cmd, "--param without '='", [cmd, system, "--param", "rho", *extra], "rho")
        add(cmd, "--param complex", [cmd, system, "--param", f"{rho}=1+2j", *extra], rho)
        add(cmd, "--param inf", [cmd, system, "--param", f"{rho}=inf", *extra], rho)
        add(cmd, "unknown system", [cmd, "lorenz64", *extra], "lorenz64")
        add(cmd, "--dt 0", [cmd, system, "--dt", "0", *extra], "--dt", "dt")
        add(cmd, "--dt nan", [cmd, system, "--dt", "nan", *extra], "--dt", "dt")
        add(cmd, "--dt abc", [cmd, system, "--dt", "abc", *extra], "--dt")
        add(cmd, "--solver rk5", [cmd, system, "--solver", "rk5", *extra], "solver", "rk5")
        add(
            cmd,
            "--system-file wrong shape",
            [cmd, "--system-file", "bad.py:Bad", *extra],
            "Bad",
            setup=bad_sys,
        )
        add(
            cmd,
            "--system-file raises",
            [cmd, "--system-file", "bad.py:Raises", *extra],
            "Raises",
            "boom",
            setup=bad_sys,
        )
        add(
            cmd,
            "--system-file missing file",
            [cmd, "--system-file", "nope.py:X", *extra],
            "nope.py",
        )
        add(
            cmd,
            "--system-file missing class",
            [cmd, "--system-file", "bad.py:Nope", *extra],
            "Nope",
            setup=bad_sys,
        )
        add(
            cmd,
            "--system-file not a system",
            [cmd, "--system-file", "bad.py:NotASystem", *extra],
            "NotASystem",
            setup=bad_sys,
        )
        add(
            cmd,
            "--system-file syntax error",
            [cmd, "--system-file", "syntax.py:F", *extra],
            "syntax.py",
            setup=syntax,
        )
        add(
            cmd,
            "--system-file without class",
            [cmd, "--system-file", "bad.py", *extra],
            "--system-file",
            setup=bad_sys,
        )
        add(cmd, "no system", [cmd, *extra], "system", "SYSTEM")
    for cmd in ("simulate", "lyapunov", "sensitivity"):
        extra = {
            "simulate": ["--out", "x.nc", "-q"],
            "lyapunov": ["--no-plot", "-q"],
            "sensitivity": ["--no-plot", "-q", "--method", "lss"],
        }[cmd]
        add(cmd, "--steps 0", [cmd, "lorenz63", "--steps", "0", *extra], "--steps", "steps")
        add(cmd, "--steps -5", [cmd, "lorenz63", "--steps", "-5", *extra], "--steps", "steps")
        add(cmd, "--steps 1e3", [cmd, "lorenz63", "--steps", "1e3", *extra], "--steps")
        add(
            cmd,
            "--steps 2**70",
            [cmd, "lorenz63", "--steps", str(2**70), *extra],
            "--steps",
            "steps",
        )
        if cmd != "lyapunov":  # a long Lyapunov run stores nothing per step: not bad input
            huge = [cmd, "lorenz63", "--steps", str(10**11), *extra]
            add(cmd, "--steps 1e11", huge, "--steps", "steps")
        add(
            cmd,
            "--transient -1",
            [cmd, "lorenz63", "--transient", "-1", *extra],
            "--transient",
            "transient",
        )
    # simulate
    add("simulate", "--out unknown suffix", ["simulate", "henon", "--out", "x.txt", "-q"], "--out")
    add(
        "simulate",
        "--out under a file",
        ["simulate", "henon", "--out", "text.nc/x.nc", "-q"],
        "--out",
        setup=nc_text,
    )
    add("simulate", "--out in /proc", ["simulate", "henon", "--out", "/proc/x.nc", "-q"], "--out")
    add(
        "simulate",
        "--out read-only",
        ["simulate", "henon", "--out", "ro.nc", "-q"],
        "--out",
        setup=readonly_nc,
    )
    add("simulate", "--out a directory", ["simulate", "henon", "--out", ".", "-q"], "--out")
    add(
        "simulate",
        "--x0 wrong length",
        ["simulate", "lorenz63", "--x0", "1,2", "--out", "x.nc", "-q"],
        "--x0",
        "x0",
    )
    add(
        "simulate",
        "--x0 NaN",
        ["simulate", "lorenz63", "--x0", "1,nan,2", "--out", "x.nc", "-q"],
        "--x0",
        "x0",
    )
    add(
        "simulate",
        "--x0 text",
        ["simulate", "lorenz63", "--x0", "a,b,c", "--out", "x.nc", "-q"],
        "--x0",
    )
    add(
        "simulate",
        "--save-every 0",
        ["simulate", "henon", "--save-every", "0", "--out", "x.nc", "-q"],
        "--save-every",
        "save_every",
    )
    add(
        "simulate",
        "--ensemble 0",
        ["simulate", "henon", "--ensemble", "0", "--out", "x.nc", "-q"],
        "--ensemble",
    )
    add(
        "simulate",
        "--t-final -1",
        ["simulate", "lorenz63", "--t-final", "-1", "--out", "x.nc", "-q"],
        "--t-final",
    )
    add(
        "simulate",
        "--t-final with --steps",
        ["simulate", "lorenz63", "--t-final", "1", "--steps", "5", "--out", "x.nc", "-q"],
        "--t-final",
        "--steps",
    )
    add(
        "simulate",
        "--trajectories without --ensemble",
        ["simulate", "henon", "--trajectories", "--out", "x.nc", "-q"],
        "--trajectories",
        "--ensemble",
    )
    add(
        "simulate",
        "--dt for a map",
        ["simulate", "henon", "--dt", "0.1", "--out", "x.nc", "-q"],
        "--dt",
    )
    # lyapunov
    add("lyapunov", "--k 0", ["lyapunov", "lorenz63", "--k", "0", "--no-plot", "-q"], "--k", "`k`")
    add("lyapunov", "--k 4", ["lyapunov", "lorenz63", "--k", "4", "--no-plot", "-q"], "--k", "`k`")
    add(
        "lyapunov",
        "--plot /proc/x.png",
        ["lyapunov", "henon", "--steps", "10", "--plot", "/proc/x.png", "-q"],
        "--plot",
    )
    add(
        "lyapunov",
        "--plot unknown suffix",
        ["lyapunov", "henon", "--steps", "10", "--plot", "x.gif", "-q"],
        "--plot",
    )
    add(
        "lyapunov",
        "--plot read-only",
        ["lyapunov", "henon", "--steps", "10", "--plot", "ro.png", "-q"],
        "--plot",
        setup=readonly_png,
    )
    add(
        "lyapunov",
        "--out unknown suffix",
        ["lyapunov", "henon", "--steps", "10", "--out", "x.csv", "--no-plot", "-q"],
        "--out",
    )
    add(
        "lyapunov",
        "--out read-only",
        ["lyapunov", "henon", "--steps", "10", "--out", "ro.nc", "--no-plot", "-q"],
        "--out",
        setup=readonly_nc,
    )
    # sensitivity
    add(
        "sensitivity",
        "--method unknown",
        ["sensitivity", "lorenz63", "--method", "adjoint", "--no-plot", "-q"],
        "--method",
        "adjoint",
    )
    add(
        "sensitivity",
        "--wrt unknown",
        ["sensitivity", "lorenz63", "--wrt", "rh", "--no-plot", "-q"],
        "rh",
    )
    add(
        "sensitivity",
        "--observable 5",
        ["sensitivity", "lorenz63", "--observable", "5", "--no-plot", "-q"],
        "--observable",
        "observable",
    )
    add(
        "sensitivity",
        "--horizons -1",
        ["sensitivity", "lorenz63", "--method", "autodiff", "--horizons", "-1", "--no-plot", "-q"],
        "--horizons",
        "horizons",
    )
    add(
        "sensitivity",
        "--horizons abc",
        ["sensitivity", "lorenz63", "--method", "autodiff", "--horizons", "abc", "--no-plot", "-q"],
        "--horizons",
        "horizons",
    )
    add(
        "sensitivity",
        "--horizons nan",
        ["sensitivity", "lorenz63", "--method", "autodiff", "--horizons", "nan", "--no-plot", "-q"],
        "--horizons",
        "horizons",
    )
    add(
        "sensitivity",
        "--members 0",
        ["sensitivity", "lorenz63", "--method", "autodiff", "--members", "0", "--no-plot", "-q"],
        "--members",
        "n_initial",
    )
    add(
        "sensitivity",
        "--segments 0",
        ["sensitivity", "lorenz63", "--method", "lss", "--segments", "0", "--no-plot", "-q"],
        "--segments",
        "segments",
    )
    add(
        "sensitivity",
        "--plot read-only",
        ["sensitivity", "henon", "--method", "lss", "--steps", "100", "--plot", "ro.png", "-q"],
        "--plot",
        setup=readonly_png,
    )
    # bifurcation
    for label, rng in [
        ("--range 3:4", "3:4"),
        ("--range a:b:c", "a:b:c"),
        ("--range 3:4:0", "3:4:0"),
        ("--range 3:4:1e11", "3:4:100000000000"),
        ("--range nan:4:10", "nan:4:10"),
        ("--range 4:3:10 (decreasing)", "4:inf:10"),
    ]:
        add(
            "bifurcation",
            label,
            ["bifurcation", "logistic", "--range", rng, "--no-plot", "-q"],
            "--range",
        )
    add(
        "bifurcation",
        "--keep 0",
        ["bifurcation", "logistic", "--keep", "0", "--no-plot", "-q"],
        "--keep",
        "keep",
    )
    add(
        "bifurcation",
        "--keep 1e10",
        ["bifurcation", "logistic", "--keep", str(10**10), "--no-plot", "-q"],
        "--keep",
        "keep",
    )
    add(
        "bifurcation",
        "--transient -1",
        ["bifurcation", "logistic", "--transient", "-1", "--no-plot", "-q"],
        "--transient",
        "transient",
    )
    add(
        "bifurcation",
        "--coordinate 3",
        ["bifurcation", "henon", "--coordinate", "3", "--no-plot", "-q"],
        "--coordinate",
        "coordinate",
    )
    add(
        "bifurcation",
        "--wrt unknown",
        ["bifurcation", "logistic", "--wrt", "rr", "--no-plot", "-q"],
        "rr",
    )
    add(
        "bifurcation",
        "--plot /proc",
        ["bifurcation", "logistic", "--plot", "/proc/x.png", "-q"],
        "--plot",
    )

    # report (configs)
    def cfg(name: str, text: str):
        return write(name, text)

    for label, text, names in [
        ("config rho = nan", 'system = "lorenz63"\n[parameters]\nrho = nan\n', ("parameters.rho",)),
        ("config rho = inf", 'system = "lorenz63"\n[parameters]\nrho = inf\n', ("parameters.rho",)),
        (
            "config rho = 'abc'",
            'system = "lorenz63"\n[parameters]\nrho = "abc"\n',
            ("parameters.rho",),
        ),
        (
            "config rho = [1, 2]",
            'system = "lorenz63"\n[parameters]\nrho = [1.0, 2.0]\n',
            ("parameters.rho", "rho"),
        ),
        ("config unknown parameter", 'system = "lorenz63"\n[parameters]\nrh = 1.0\n', ("rh",)),
        ("config horizons = [inf]", "horizons = [inf]\n", ("horizons",)),
        ("config horizons = 'a'", 'horizons = "a"\n', ("horizons",)),
        ("config solver = 'rk5'", 'system = "lorenz63"\nsolver = "rk5"\n', ("solver",)),
        ("config dt = nan", "dt = nan\n", ("dt",)),
        ("config dt = -1", "dt = -1.0\n", ("dt",)),
        ("config dt = 'x'", 'dt = "x"\n', ("dt",)),
        ("config members = 0", "members = 0\n", ("members",)),
        ("config members = 2.5", "members = 2.5\n", ("members",)),
        ("config trajectory_steps = -1", "trajectory_steps = -1\n", ("trajectory_steps",)),
        (
            "config lyapunov_steps = 2**70",
            f"lyapunov_steps = {2**62}\n",
            ("lyapunov_steps", "steps"),
        ),
        ("config unknown key", "colour = 'red'\n", ("colour",)),
        ("config sections unknown", 'sections = "system,weather"\n', ("weather",)),
        ("config system unknown", 'system = "lorenz64"\n', ("lorenz64",)),
        ("config system = 3", "system = 3\n", ("system",)),
        ("config not TOML", "this is = = not toml\n", ("c.toml",)),
        ("config bifurcation_range bad", 'bifurcation_range = "1:2"\n', ("bifurcation_range",)),
        ("config seed = 'x'", 'seed = "x"\n', ("seed",)),
        (
            "config system_file without --allow-code",
            'system_file = "bad.py:Bad"\n',
            ("system_file",),
        ),
    ]:
        add(
            "report",
            label,
            ["report", "--config", "c.toml", "--out", "rep", "-q", "--quick"],
            *names,
            setup=many(cfg("c.toml", text), bad_sys),
        )
    add(
        "report",
        "--config missing",
        ["report", "--config", "none.toml", "--out", "rep", "-q"],
        "none.toml",
    )
    add(
        "report",
        "--members 0",
        ["report", "--members", "0", "--out", "rep", "-q"],
        "--members",
        "members",
    )
    add("report", "--dt -1", ["report", "--dt", "-1", "--out", "rep", "-q"], "--dt", "dt")
    add(
        "report",
        "--sections weather",
        ["report", "--sections", "weather", "--out", "rep", "-q"],
        "weather",
    )
    add(
        "report",
        "--out is a file",
        ["report", "--out", "ro.nc", "-q", "--sections", "system"],
        "--out",
        setup=readonly_nc,
    )
    add(
        "report",
        "--out in /proc",
        ["report", "--out", "/proc/rep", "-q", "--sections", "system"],
        "--out",
    )
    add(
        "report",
        "--model missing",
        ["report", "--model", "nomodel.eqx", "--out", "rep", "-q"],
        "nomodel.eqx",
        "--model",
    )
    add(
        "report",
        "--bifurcation-range 3:4",
        ["report", "--bifurcation-range", "3:4", "--out", "rep", "-q"],
        "--bifurcation-range",
        "bifurcation_range",
    )
    add("report", "--param rho=nan", ["report", "--param", "rho=nan", "--out", "rep", "-q"], "rho")
    # learn
    for sub in ("sindy", "delay-mlp", "neural-ode", "esn", "ngrc", "transformer"):
        if sub == "transformer":  # it trains on simulated data only (no --data)
            fit = ["learn", sub, "henon", "--out", "m", "-q"]
            add(f"learn {sub}", "--data (not an option)", [*fit, "--data", "x.nc"], "--data")
            add(f"learn {sub}", "--steps 0", [*fit, "--steps", "0"], "--steps", "steps")
            add(
                f"learn {sub}",
                "--out is a file",
                [*fit[:-3], "--out", "ro.nc", "-q"],
                "--out",
                setup=readonly_nc,
            )
            add(
                f"learn {sub}",
                "unknown system",
                ["learn", sub, "lorenz64", "--out", "m", "-q"],
                "lorenz64",
            )
            continue
        add(
            f"learn {sub}",
            "--data non-NetCDF",
            ["learn", sub, "--data", "text.nc", "--out", "m", "-q"],
            "text.nc",
            setup=nc_text,
        )
        add(
            f"learn {sub}",
            "--data missing",
            ["learn", sub, "--data", "none.nc", "--out", "m", "-q"],
            "none.nc",
        )
        add(
            f"learn {sub}",
            "--points 0",
            ["learn", sub, "lorenz63", "--points", "0", "--out", "m", "-q"],
            "--points",
        )
        add(
            f"learn {sub}",
            "--out is a file",
            ["learn", sub, "lorenz63", "--out", "ro.nc", "-q"],
            "--out",
            setup=readonly_nc,
        )
        add(
            f"learn {sub}",
            "unknown system",
            ["learn", sub, "lorenz64", "--out", "m", "-q"],
            "lorenz64",
        )
    add(
        "learn sindy",
        "--library quartic",
        ["learn", "sindy", "lorenz63", "--library", "quartic", "--out", "m", "-q"],
        "--library",
        "quartic",
    )
    add(
        "learn sindy",
        "--derivative fd3",
        ["learn", "sindy", "lorenz63", "--derivative", "fd3", "--out", "m", "-q"],
        "--derivative",
        "fd3",
    )
    add(
        "learn sindy",
        "--threshold nan",
        ["learn", "sindy", "lorenz63", "--threshold", "nan", "--out", "m", "-q"],
        "--threshold",
        "threshold",
    )
    add(
        "learn sindy",
        "--noise -1",
        ["learn", "sindy", "lorenz63", "--noise", "-1", "--out", "m", "-q"],
        "--noise",
    )
    add(
        "learn delay-mlp",
        "--lags 0",
        ["learn", "delay-mlp", "henon", "--lags", "0", "--out", "m", "-q"],
        "--lags",
        "lags",
    )
    add(
        "learn delay-mlp",
        "--trainer sgd",
        ["learn", "delay-mlp", "henon", "--trainer", "sgd", "--out", "m", "-q"],
        "--trainer",
        "trainer",
    )
    add(
        "learn delay-mlp",
        "--observable 7",
        ["learn", "delay-mlp", "henon", "--observable", "7", "--out", "m", "-q"],
        "--observable",
        "observable",
    )
    add(
        "learn esn",
        "--ridge -1",
        ["learn", "esn", "lorenz63", "--ridge", "-1", "--out", "m", "-q"],
        "--ridge",
    )
    add(
        "learn ngrc",
        "--lags 0",
        ["learn", "ngrc", "lorenz63", "--lags", "0", "--out", "m", "-q"],
        "--lags",
        "lags",
    )
    # evaluate
    add(
        "evaluate",
        "model missing",
        ["evaluate", "nomodel.eqx", "--truth", "lorenz63", "-q"],
        "nomodel.eqx",
    )
    add(
        "evaluate",
        "model not a model file",
        ["evaluate", "text.nc", "--truth", "lorenz63", "-q"],
        "text.nc",
        setup=nc_text,
    )
    add(
        "evaluate",
        "--truth unknown",
        ["evaluate", "text.nc", "--truth", "lorenz64", "-q"],
        "lorenz64",
        "text.nc",
        setup=nc_text,
    )
    add(
        "evaluate",
        "--starts 0",
        ["evaluate", "text.nc", "--truth", "lorenz63", "--starts", "0", "-q"],
        "--starts",
        "text.nc",
        setup=nc_text,
    )
    add(
        "evaluate",
        "--out is a file",
        ["evaluate", "text.nc", "--truth", "lorenz63", "--out", "ro.nc", "-q"],
        "--out",
        "text.nc",
        setup=many(nc_text, readonly_nc),
    )
    # systems, top level
    add("systems", "unknown option", ["systems", "--colour"], "--colour")
    add("chaosjax", "unknown command", ["simulat"], "simulat")
    return cases


def classify_cli(
    proc: subprocess.CompletedProcess | None, names: tuple[str, ...], timeout: float
) -> tuple[str, str]:
    if proc is None:
        return "hang", f"no exit within {timeout:.0f} s"
    out = (proc.stderr or "") + (proc.stdout or "")
    code = proc.returncode
    last = next((ln.strip() for ln in reversed(out.splitlines()) if ln.strip()), "")
    if code == 0:
        return "silent", "exit 0" + (f": {last[:150]}" if last else "")
    if code < 0 or code >= 128 and code != 130:
        name = signal.Signals(-code).name if code < 0 else f"status {code}"
        return "crash", f"{name}: {last[:150]}"
    if "Traceback" in out:
        return "unclear", f"traceback (exit {code}): {last[:150]}"
    errors = [ln.strip() for ln in out.splitlines() if ln.strip().startswith("Error:")]
    usage = "Usage:" in out or "Invalid value" in out or "No such option" in out
    text = " ".join(errors) if errors else out
    flat = re.sub(r"[│╭╮╰╯─\s]+", " ", text)
    line = (errors[0] if errors else flat.strip())[:200]
    if not errors and not usage:
        return "unclear", f"exit {code}, no error line: {last[:150]}"
    if not any(n.lower() in flat.lower() for n in names):
        return "unclear", f"exit {code}, does not name {' or '.join(names)}: {line}"
    if len(errors) > 1:
        return "unclear", f"exit {code}, {len(errors)} error lines: {line}"
    return "clear", f"exit {code}: {line}"


def run_cli(
    cases: list[CliCase], indices: list[int], args: argparse.Namespace, scratch: Path
) -> dict[int, dict]:
    results: dict[int, dict] = {}
    lock = threading.Lock()

    def one(i: int) -> None:
        case = cases[i]
        d = scratch / f"cli{i}"
        d.mkdir(parents=True, exist_ok=True)
        if case.setup is not None:
            case.setup(d)
        t0 = time.perf_counter()
        try:
            proc = subprocess.run(
                [sys.executable, "-m", "chaosjax", *case.args],
                cwd=d,
                capture_output=True,
                text=True,
                timeout=args.cli_timeout,
                env=_env(args.x64),
                preexec_fn=_limit_memory(args.memory_limit),
            )
        except subprocess.TimeoutExpired:
            proc = None
        outcome, detail = classify_cli(proc, case.names, args.cli_timeout)
        with lock:
            results[i] = {
                "i": i,
                "outcome": outcome,
                "detail": detail,
                "s": time.perf_counter() - t0,
            }
            done = len(results)
        if args.verbose or outcome != "clear":
            print(
                f"  [{done}/{len(indices)}] cli #{i} {case.command} {case.label}: "
                f"{outcome}: {detail[:140]}",
                flush=True,
            )
        for p in sorted(d.rglob("*"), reverse=True):  # read-only leftovers too
            try:
                p.chmod(0o755 if p.is_dir() else 0o644)
            except OSError:
                pass
        shutil.rmtree(d, ignore_errors=True)

    with ThreadPoolExecutor(args.jobs) as pool:
        list(pool.map(one, indices))
    return results


# =========================================================================== the table


def table(
    title: str, groups: list[str], results: dict[int, dict], labels: list[tuple[str, str]]
) -> list[str]:
    per: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    total: collections.Counter = collections.Counter()
    for i, r in results.items():
        per[labels[i][0]][r["outcome"]] += 1
        total[r["outcome"]] += 1
    n = sum(total.values())
    lines = [f"### {title}: {n} cases over {len(per)} functions or commands", ""]
    lines.append("| outcome | cases | share |")
    lines.append("|---|---:|---:|")
    for o in OUTCOMES:
        lines.append(f"| {o} | {total[o]} | {100 * total[o] / max(n, 1):.1f} % |")
    lines += [
        "",
        "| function | " + " | ".join(OUTCOMES) + " |",
        "|---" + "|---:" * len(OUTCOMES) + "|",
    ]
    for g in groups:
        if g in per:
            lines.append(f"| {g} | " + " | ".join(str(per[g][o]) for o in OUTCOMES) + " |")
    bad = [(i, r) for i, r in sorted(results.items()) if r["outcome"] != "clear"]
    lines += ["", f"Not clear ({len(bad)}):" if bad else "Every case clear.", ""]
    for i, r in bad:
        fn, label = labels[i]
        detail = r["detail"].replace("|", "\\|")
        lines.append(f"- **{r['outcome']}** `{fn}` — {label}: {detail}")
    lines.append("")
    return lines


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--only", choices=["api", "cli"])
    p.add_argument("--limit", type=int, help="every k-th case only, k = ceil(cases / limit)")
    p.add_argument("--case-timeout", type=int, default=60)
    p.add_argument("--cli-timeout", type=float, default=120.0)
    p.add_argument("--memory-limit", type=float, default=8.0, help="GB of address space")
    p.add_argument("--x64", action="store_true", help="64-bit JAX (JAX_ENABLE_X64=1)")
    p.add_argument("--markdown", default=str(HERE / "BAD_INPUTS.md"))
    p.add_argument("--verbose", "-v", action="store_true")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--scratch", help=argparse.SUPPRESS)
    p.add_argument("--json", help="also write every outcome to this JSON file")
    p.add_argument("--src", help="the chaosjax source tree to test (default: this checkout's)")
    args = p.parse_args()
    if args.src:
        global SRC
        SRC = Path(args.src).resolve()
    if args.worker is not None:
        worker([int(i) for i in args.worker.split(",")], Path(args.scratch), args.case_timeout)
        return

    def pick(n: int) -> list[int]:
        if not args.limit or args.limit >= n:
            return list(range(n))
        k = -(-n // args.limit)
        return list(range(0, n, k))

    t0 = time.time()
    scratch = Path(tempfile.mkdtemp(prefix="chaosjax_bad_inputs_"))
    lines = [
        "# Bad-input census",
        "",
        f"`python benchmarks/bad_inputs.py{' --x64' if args.x64 else ''}`"
        f"{f' --limit {args.limit}' if args.limit else ''}: every case is one bad input; "
        "outcomes as defined in the script's docstring "
        f"({'64' if args.x64 else '32'}-bit JAX, {args.jobs} jobs).",
        "",
    ]
    everything: dict[str, Any] = {}
    try:
        if args.only in (None, "api"):
            os.environ["JAX_ENABLE_X64"] = "1" if args.x64 else "0"
            os.environ["JAX_PLATFORMS"] = "cpu"
            sys.path.insert(0, str(SRC))
            cases = api_cases(scratch)
            idx = pick(len(cases))
            print(f"API: {len(idx)} of {len(cases)} cases", flush=True)
            res = run_api(len(cases), idx, args, scratch)
            labels = [(c.function, c.label) for c in cases]
            groups = list(dict.fromkeys(c.function for c in cases))
            lines += table("Public API", groups, res, labels)
            everything["api"] = {
                str(i): {**r, "function": labels[i][0], "label": labels[i][1]}
                for i, r in res.items()
            }
        if args.only in (None, "cli"):
            ccases = cli_cases()
            idx = pick(len(ccases))
            print(f"CLI: {len(idx)} of {len(ccases)} command lines", flush=True)
            res = run_cli(ccases, idx, args, scratch)
            labels = [(c.command, f"{c.label} (`chaosjax {' '.join(c.args)}`)") for c in ccases]
            groups = list(dict.fromkeys(c.command for c in ccases))
            lines += table("Command line", groups, res, labels)
            everything["cli"] = {
                str(i): {**r, "command": labels[i][0], "label": labels[i][1]}
                for i, r in res.items()
            }
    finally:
        for q in sorted(scratch.rglob("*"), reverse=True):
            try:
                q.chmod(0o755 if q.is_dir() else 0o644)
            except OSError:
                pass
        shutil.rmtree(scratch, ignore_errors=True)
    lines.append(f"Took {time.time() - t0:.0f} s.")
    text = "\n".join(lines) + "\n"
    print(text)
    Path(args.markdown).write_text(text)
    if args.json:
        Path(args.json).write_text(json.dumps(everything, indent=1))
    # The target: nothing silent, hanging or crashing, under 1 % unclear.
    outcomes = collections.Counter(r["outcome"] for d in everything.values() for r in d.values())
    total = sum(outcomes.values())
    if outcomes["silent"] + outcomes["hang"] + outcomes["crash"] or (
        outcomes["unclear"] >= 0.01 * max(total, 1)
    ):
        sys.exit(f"bad inputs not all clear: {dict(outcomes)}")


if __name__ == "__main__":
    main()
