"""Bad input that benchmarks/bad_inputs.py found unclear or silent, each now a clear
error from chaosjax naming the argument; and the outputs of `chaosjax report`, `learn`
and `evaluate` under a read-only file and a full disk."""

import os
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from typer.testing import CliRunner

import chaosjax as cj
from chaosjax.cli import app

LOR = cj.systems.Lorenz63()
X0 = LOR.default_state()
HEN = cj.systems.Henon()
SRC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")


def unchecked(fn):
    """The function without pytest's jaxtyping/beartype wrapper (users get chaosjax's
    own check, not the hook's TypeError)."""
    inner = getattr(fn, "__wrapped__", None)
    if inner is None:
        return fn
    owner = getattr(fn, "__self__", None)
    return (lambda *a, **k: inner(owner, *a, **k)) if owner is not None else inner


U = unchecked

# --------------------------------------------------------------------------- systems


@pytest.mark.parametrize(
    "build, match",
    [
        (lambda: cj.systems.Lorenz63(rho="abc"), "`rho` .* must be a real number.*'abc'"),
        (lambda: cj.systems.Lorenz63(rho=None), "`rho` .* must be a real number.*None"),
        (lambda: cj.systems.Lorenz63(rho={"a": 1}), "`rho` .* must be a real number"),
        (lambda: cj.systems.Lorenz63(rho=[1.0, 2.0]), "`rho` .* must be a scalar, got shape"),
        (lambda: cj.systems.Logistic(r=np.ones((2, 2))), "`r` .* must be a scalar"),
        (lambda: cj.systems.LinearFlow(A="eye"), "`A` .* must be a real number"),
        (lambda: cj.systems.LinearFlow(A=np.ones(3)), "`A` .* must be 2-D"),
    ],
)
def test_parameters_are_checked_where_the_system_is_built(build, match):
    with pytest.raises(ValueError, match=match):
        build()


def test_valid_parameters_still_build_under_transformations():
    assert float(cj.systems.Lorenz63(rho=np.int64(30)).rho) == 30.0
    assert cj.systems.LinearFlow(A=np.eye(4)).dim == 4  # a matrix may change size
    # Built from traced values (vmap over a parameter) and differentiated.
    rhos = jnp.array([20.0, 28.0])
    vf = jax.vmap(lambda r: cj.systems.Lorenz63(rho=r).vector_field(X0))(rhos)
    np.testing.assert_allclose(
        np.asarray(vf[:, 1]), np.asarray(X0[0] * (rhos - X0[2]) - X0[1]), rtol=1e-14
    )
    g = jax.grad(lambda r: cj.systems.Lorenz63(rho=r).vector_field(X0)[1])(28.0)
    assert float(g) == float(X0[0])


BAD_KEYS = [
    (3, "must be a PRNG key"),
    ("abc", "must be a PRNG key"),
    (None, "must be a PRNG key"),
    (np.zeros(3, np.uint32), "must be a PRNG key"),
    (jax.random.split(jax.random.key(0)), "must be one PRNG key"),
]
KEYED = {
    "Lorenz63.sample_state": lambda k: LOR.sample_state(k, 2),
    "Logistic.sample_state": lambda k: cj.systems.Logistic().sample_state(k, 2),
    "Duffing.sample_state": lambda k: cj.systems.Duffing().sample_state(k, 2),
    "RNN.random": lambda k: cj.systems.RNN.random(k, 3).W,
    "GRU.random": lambda k: cj.systems.GRU.random(k, 3, n_inputs=1).Wz,
    "LSTM.random": lambda k: cj.systems.LSTM.random(k, 3).Wi,
}


@pytest.mark.parametrize("fn", KEYED)
def test_keys_of_sample_state_and_random_networks(fn):
    f = KEYED[fn]
    for key, match in BAD_KEYS:
        with pytest.raises(ValueError, match="`key` " + match):
            unchecked(f)(key)
    a, b = f(jax.random.key(5)), f(jax.random.PRNGKey(5))  # legacy keys are wrapped
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert np.all(np.isfinite(np.asarray(a)))


def test_counts_of_sample_state_and_random_networks():
    key = jax.random.key(0)
    with pytest.raises(ValueError, match="`n` must be a positive int, got 0"):
        LOR.sample_state(key, 0)
    with pytest.raises(ValueError, match="`n` must be a positive int"):
        HEN.sample_state(key, "two")  # Henon's own sample_state, checked all the same
    with pytest.raises(ValueError, match="`n_inputs` must be a non-negative int"):
        cj.systems.LSTM.random(key, 4, n_inputs=-1)
    assert LOR.sample_state(key, np.int64(3)).shape == (3, 3)


def test_keys_of_evaluate_and_fit_esn():
    with pytest.raises(ValueError, match="`key` must be a PRNG key"):
        unchecked(cj.learn.evaluate)(HEN, HEN, starts=2, key="k")
    with pytest.raises(ValueError, match="`key` must be one PRNG key"):
        split = jax.random.split(jax.random.key(0))
        unchecked(cj.learn.fit_esn)(np.ones((500, 3)), dt=0.02, key=split, n=8)


# --------------------------------------------------------------------------- arguments


@pytest.mark.parametrize(
    "call, match",
    [
        # A string would pass float(): refused (every step size goes through this check).
        (lambda: cj._validate.positive_float("0.01", "dt"), "`dt` must be a positive float"),
        (lambda: U(cj.trajectory)(LOR, X0, steps=5, dt=0.01, throw="no"), "`throw` must be True"),
        (lambda: U(cj.max_lyapunov)(LOR, X0, 5, dt=0.01, throw=1), "`throw` must be True"),
        (
            lambda: U(cj.orbit_diagram)(
                cj.systems.Logistic(), "r", np.array([3.5 + 1j]), transient=2, keep=2
            ),
            "`values` must be an array of real numbers",
        ),
        (
            lambda: U(cj.orbit_diagram)(cj.systems.Logistic(), "r", "3.5", transient=2, keep=2),
            "`values` must be an array of real numbers",
        ),
        (lambda: U(cj.detect_period)("abc"), "`points` must be an array of numbers"),
        (lambda: U(cj.detect_period)(np.ones((8, 1)) * 1j), "`points` must hold real numbers"),
        (
            lambda: U(cj.learn.state_derivative_pairs)(np.ones((50, 3)) * (1 + 1j), dt=0.01),
            "`data` must be real, got complex",
        ),
        (
            lambda: U(cj.sensitivity_blowup_table)(
                LOR, "rho", lambda x: x[2], horizons="1,2", dt=0.01
            ),
            "`horizons` must be a sequence of positive numbers",
        ),
    ],
)
def test_arguments_that_passed_silently_or_failed_inside(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_a_detect_period_of_nan_padded_points_still_works():
    pts = np.array([[0.2], [0.7], [0.2], [0.7], [0.2], [0.7], [np.nan], [np.nan]])
    period, _ = cj.detect_period(pts)
    assert int(period) == 2


def test_observables_of_sensitivities_are_checked_like_averages():
    x5 = lambda x: x[5]  # noqa: E731 - JAX would clamp it to x[2]
    for call in (
        lambda: cj.finite_time_gradient(LOR, "rho", x5, X0, 10, dt=0.01),
        lambda: cj.shadowing_sensitivity(LOR, "rho", x5, X0, steps=40, dt=0.01, segments=2),
        lambda: cj.sensitivity_blowup_table(LOR, "rho", x5, horizons=[0.05], n_initial=2, dt=0.01),
    ):
        with pytest.raises(ValueError, match="`observable` indexes outside a state of shape"):
            call()
    nan_obs = lambda x: jnp.log(x[0] - 100.0)  # noqa: E731 - NaN on the whole attractor
    with pytest.raises(ValueError, match="`observable` returned a non-finite value at step 0"):
        cj.sensitivity_blowup_table(LOR, "rho", nan_obs, horizons=[0.05], n_initial=2, dt=0.01)


# --------------------------------------------------------------------------- sizes


def test_counts_and_sizes_of_covariant_vectors_and_sensitivities():
    huge = 10**11
    with pytest.raises(ValueError, match=r"`steps` = 1180591620717411303424 .*at most"):
        cj.covariant_lyapunov_vectors(LOR, X0, 2**70, dt=0.01)
    with pytest.raises(
        ValueError, match=r"`steps`: covariant vectors over .* TB.*lyapunov_spectrum"
    ):
        cj.covariant_lyapunov_vectors(LOR, X0, huge, dt=0.01, transient=0, future=5)
    with pytest.raises(ValueError, match=r"`steps`: covariant vectors over 10 \+ 100000000000"):
        cj.covariant_lyapunov_vectors(LOR, X0, 10, dt=0.01, transient=0, future=huge)
    with pytest.raises(ValueError, match=r"`steps`: least squares shadowing .*NILSS"):
        cj.shadowing_sensitivity(LOR, "rho", lambda x: x[2], X0, steps=huge, dt=0.01)
    for method in ("lss", cj.NILSS()):
        with pytest.raises(ValueError, match=r"`steps` = 1180591620717411303424"):
            cj.shadowing_sensitivity(
                LOR, "rho", lambda x: x[2], X0, steps=2**70, dt=0.01, method=method
            )
    with pytest.raises(ValueError, match=r"`steps` = 1180591620717411303424 \(plus 3 steps"):
        cj.finite_time_gradient(LOR, "rho", lambda x: x[2], X0, 2**70, dt=0.01, transient=3)
    # The inverted map's backward pass holds steps / history states at once.
    with pytest.raises(ValueError, match=r"`steps`: the inverted run's orbit segments .*history"):
        cj.lyapunov_spectrum(HEN, HEN.default_state(), 2**50, inverse=True, history=2)


# --------------------------------------------------------------------------- directories

runner = CliRunner()


def _one_line(result, code, *fragments):
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.mark.parametrize(
    "args",
    [
        ["report", "henon", "--sections", "system", "--quick", "-q"],
        ["learn", "sindy", "lorenz63", "--points", "500", "--no-plot", "-q"],
        ["evaluate", "MODEL", "--truth", "henon", "-q"],
    ],
    ids=["report", "learn", "evaluate"],
)
def test_read_only_files_in_out_dirs_are_refused_without_force(tmp_path, args):
    out = tmp_path / "out"
    out.mkdir()
    kept = out / ("metrics.json" if args[0] == "learn" else "index.html")
    kept.write_text("keep me")
    kept.chmod(0o444)
    (out / "notes.md").write_text("mine")  # not a kind chaosjax writes: ignored
    (out / "notes.md").chmod(0o444)
    model = tmp_path / "model.eqx"
    cj.learn.save(cj.systems.Henon(a=1.39), model)
    args = [str(model) if a == "MODEL" else a for a in args]
    result = runner.invoke(app, [*args, "--out", str(out)], prog_name="chaosjax")
    _one_line(result, 2, "--out", "read-only file", repr(kept.name), "--force")
    assert kept.read_text() == "keep me"


def test_report_replaces_a_read_only_file_with_force_and_keeps_it_read_only(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "index.html").write_text("old")
    (out / "index.html").chmod(0o444)
    args = ["report", "henon", "--sections", "system", "--quick", "-q", "--out", str(out)]
    result = runner.invoke(app, [*args, "--force"], prog_name="chaosjax")
    assert result.exit_code == 0, result.output
    assert (
        "Hénon" in (out / "index.html").read_text()
        or "henon" in (out / "index.html").read_text().lower()
    )
    assert oct((out / "index.html").stat().st_mode & 0o777) == oct(0o444)


@pytest.mark.slow  # the default suite's time budget; tests/test_faults.py covers a full disk
def test_full_disk_in_report_learn_and_evaluate_is_one_line_exit_1(tmp_path):
    """RLIMIT_FSIZE (SIGXFSZ ignored: writes fail with EFBIG) stands for a full disk:
    one line naming the file, exit status 1, the previous file intact."""
    rep, fit, ver = tmp_path / "rep", tmp_path / "fit", tmp_path / "ver"
    for d in (rep, fit, ver):
        d.mkdir()
    (rep / "results.nc").write_bytes(b"previous report")
    (fit / "model.eqx").write_bytes(b"previous model")
    (ver / "verdict.nc").write_bytes(b"previous verdict")
    model = tmp_path / "henon.eqx"
    cj.learn.save(cj.systems.Henon(a=1.39), model)
    script = textwrap.dedent(f"""
        import resource, signal, sys
        from chaosjax.cli import app

        def cli(*args):
            try:
                app([str(a) for a in args], prog_name="chaosjax")
            except SystemExit as e:
                print(f"EXIT {{e.code}}", file=sys.stderr, flush=True)

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (1000, 1000))
        cli("report", "henon", "--sections", "system,attractor", "--quick", "-q",
            "--out", {str(rep)!r})
        cli("learn", "sindy", "lorenz63", "--points", "400", "--lyap-steps", "100",
            "--no-plot", "-q", "--out", {str(fit)!r})
        cli("evaluate", {str(model)!r}, "--truth", "henon", "--starts", "2", "--runs", "2",
            "--run-steps", "200", "--spectrum-steps", "200", "-q", "--out", {str(ver)!r})
    """)
    # XLA kernels only: a generated kernel not yet in the cache could not be compiled
    # under the file-size limit (a warning line of its own, not what is tested here).
    env = dict(os.environ, PYTHONPATH=SRC, PYTHONUNBUFFERED="1", CHAOSJAX_CGEN="0")
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, env=env
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 6 and lines[1::2] == ["EXIT 1"] * 3, result.stderr
    for line, where in zip(lines[::2], (rep, fit, ver), strict=True):
        assert line.startswith(f"Error: cannot write '{where}/"), line
        assert line.endswith("File too large (any previous file is unchanged)."), line
    assert (rep / "results.nc").read_bytes() == b"previous report"
    assert (fit / "model.eqx").read_bytes() == b"previous model"
    assert (ver / "verdict.nc").read_bytes() == b"previous verdict"
    assert not [p for d in (rep, fit, ver) for p in d.iterdir() if p.name.endswith(".tmp")]


# --------------------------------------------------------------------------- the census


@pytest.mark.slow
def test_a_subset_of_the_bad_input_census_is_all_clear(tmp_path):
    """Every 12th API case and every 16th command line of benchmarks/bad_inputs.py: each
    one a clear error (the whole census: `python benchmarks/bad_inputs.py`)."""
    import json

    script = os.path.join(os.path.dirname(SRC), "benchmarks", "bad_inputs.py")
    out = tmp_path / "census.json"
    env = dict(os.environ, PYTHONPATH=SRC)
    for only, limit in (("api", 52), ("cli", 14)):
        result = subprocess.run(
            [sys.executable, script, "--only", only, "--limit", str(limit), "--jobs", "1"]
            + ["--markdown", str(tmp_path / "c.md"), "--json", str(out)],
            capture_output=True,
            text=True,
            timeout=1800,
            env=env,
        )
        assert result.returncode == 0, result.stderr[-2000:]
        cases = json.loads(out.read_text())[only]
        assert len(cases) >= limit - 2
        bad = {c["label"]: (c["outcome"], c["detail"]) for c in cases.values()}
        bad = {k: o for k, o in bad.items() if o[0] != "clear"}
        assert not bad, bad


def test_trajectories_beyond_256_mb_fill_one_output_chunk_by_chunk(monkeypatch):
    """Above the join threshold a trajectory still goes in bounded chunks (so Ctrl-C
    lands between them), written into the output in place: the very same bits."""
    from chaosjax.simulate import _chunked, trajectories

    x0 = LOR.sample_state(jax.random.key(0), 3)
    whole = cj.trajectory(LOR, x0, steps=300, dt=0.01, save_every=3, transient=7)
    single = cj.trajectory(LOR, x0[0], steps=301, dt=0.01)
    monkeypatch.setattr(trajectories, "_CHUNKED_OUTPUT_BYTES", 0)
    monkeypatch.setattr(_chunked, "WORK_PER_CHUNK", 7 * 9)
    calls = []
    write = trajectories._write_rows
    monkeypatch.setattr(trajectories, "_write_rows", lambda *a: calls.append(1) or write(*a))
    np.testing.assert_array_equal(
        np.asarray(cj.trajectory(LOR, x0, steps=300, dt=0.01, save_every=3, transient=7)),
        np.asarray(whole),
    )
    np.testing.assert_array_equal(
        np.asarray(cj.trajectory(LOR, x0[0], steps=301, dt=0.01)), np.asarray(single)
    )
    assert len(calls) > 10
