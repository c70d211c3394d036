"""Faults around the command line and its files: a full disk, leftovers of killed
writes, read-only and linked outputs, code named in a shared config, Ctrl-C."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from typer.testing import CliRunner

import chaosjax as cj
from chaosjax import _files
from chaosjax.cli import app

runner = CliRunner()
SRC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")


def unchecked(fn):
    """The function without pytest's jaxtyping/beartype wrapper, which rejects a wrong
    type (a TypeError) before chaosjax's own check runs; users get chaosjax's error."""
    return getattr(fn, "__wrapped__", fn)


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args], prog_name="chaosjax")


def assert_one_line_error(result, code, *fragments):
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    for fragment in fragments:
        assert fragment.lower() in lines[0].lower(), lines[0]


def run_cli_in_subprocess(script: str, timeout: float = 120):
    """Run `script` (Python, `cli(*args)` runs one command line) in a fresh interpreter."""
    prelude = textwrap.dedent("""
        import sys
        from chaosjax.cli import app

        def cli(*args):
            try:
                app([str(a) for a in args], prog_name="chaosjax")
            except SystemExit as e:
                print(f"EXIT {e.code}", file=sys.stderr, flush=True)
    """)
    env = dict(os.environ, PYTHONPATH=SRC, PYTHONUNBUFFERED="1")
    return subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(script)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


# --------------------------------------------------------------------------- full disk


def test_full_disk_is_one_line_exit_1_and_the_previous_file_is_kept(tmp_path):
    """A file-size limit (RLIMIT_FSIZE, SIGXFSZ ignored so writes fail with EFBIG) stands
    for a full disk: each command prints one line naming the file and the cause, exits
    with status 1, and leaves the previous file byte for byte."""
    run, plot = tmp_path / "run.nc", tmp_path / "lyap.png"
    run.write_bytes(b"previous run")
    plot.write_bytes(b"previous figure")
    result = run_cli_in_subprocess(f"""
        import resource, signal
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
        cli("simulate", "lorenz63", "--steps", 2000, "--out", {str(run)!r}, "-q")
        cli("lyapunov", "henon", "--steps", 2000, "--plot", {str(plot)!r}, "-q")
    """)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == [
        f"Error: cannot write {str(run)!r}: File too large (any previous file is unchanged).",
        "EXIT 1",
        f"Error: cannot write {str(plot)!r}: File too large (any previous file is unchanged).",
        "EXIT 1",
    ], result.stderr
    assert run.read_bytes() == b"previous run"
    assert plot.read_bytes() == b"previous figure"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lyap.png", "run.nc"]


def test_a_failed_save_names_the_target_not_the_temporary_file(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    hen = cj.systems.Henon()
    ds = cj.io.trajectory_dataset(hen, np.zeros((3, 2)), dt=None)
    with pytest.raises(cj.io.WriteError) as info:
        cj.io.save(ds, blocker / "run.nc")
    assert info.value.filename == str(blocker / "run.nc")
    assert info.value.strerror == "Not a directory"
    assert isinstance(info.value, OSError)


# --------------------------------------------------------------------------- leftovers


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_stale_temporary_files_are_removed_on_the_next_write(tmp_path):
    target = tmp_path / "run.nc"
    host = _files._HOST
    dead = tmp_path / f".run.nc.{_dead_pid()}-{host}.abcd1234.tmp"  # killed writer
    alive = tmp_path / f".run.nc.{os.getpid()}-{host}.abcd1234.tmp"  # a live writer
    old = tmp_path / ".run.nc.k2j4h5g6.tmp"  # older naming, two hours old
    recent = tmp_path / ".run.nc.x9y8z7w6.tmp"  # older naming, just written
    other_host = tmp_path / f".run.nc.{_dead_pid()}-00000000.abcd1234.tmp"
    unrelated = tmp_path / ".run.nc.notes.tmp"  # not a name chaosjax writes
    other_target = tmp_path / f".other.nc.{_dead_pid()}-{host}.abcd1234.tmp"
    for p in (dead, alive, old, recent, other_host, unrelated, other_target):
        p.write_bytes(b"x" * 100)
    two_hours_ago = time.time() - 2 * 3600
    os.utime(old, (two_hours_ago, two_hours_ago))
    os.utime(unrelated, (two_hours_ago, two_hours_ago))

    cj.io.write_text(target, "new\n")

    assert target.read_text() == "new\n"
    left = {p.name for p in tmp_path.iterdir()}
    assert left == {
        "run.nc",
        alive.name,
        recent.name,
        other_host.name,
        unrelated.name,
        other_target.name,
    }
    # The host's writer gone an hour ago, or the other host's: removed too.
    os.utime(other_host, (two_hours_ago, two_hours_ago))
    assert cj.io.remove_stale_temporaries(target) == [other_host]
    assert cj.io.remove_stale_temporaries(tmp_path / "missing" / "x.nc") == []


# --------------------------------------------------------------------------- read-only, links


def test_read_only_out_is_refused_without_force_and_stays_read_only(tmp_path):
    out = tmp_path / "run.nc"
    out.write_bytes(b"keep me")
    out.chmod(0o444)
    args = ("simulate", "henon", "--steps", 10, "--out", out, "-q")
    assert_one_line_error(invoke(*args), 2, "--out", "read-only", "--force")
    assert out.read_bytes() == b"keep me"
    result = invoke(*args, "--force")
    assert result.exit_code == 0, result.output
    assert cj.io.load(out)["state"].shape == (11, 2)
    assert oct(out.stat().st_mode & 0o777) == oct(0o444)
    # A read-only figure is named as --plot.
    png = tmp_path / "l.png"
    png.write_bytes(b"old")
    png.chmod(0o400)
    result = invoke("lyapunov", "henon", "--steps", 10, "--plot", png, "-q")
    assert_one_line_error(result, 2, "--plot", "read-only")


def test_symbolic_link_out_is_written_through(tmp_path):
    real_dir = tmp_path / "data"
    real_dir.mkdir()
    real = real_dir / "real.nc"
    real.write_bytes(b"old")
    real.chmod(0o640)
    link = tmp_path / "link.nc"
    link.symlink_to(real)
    result = invoke("simulate", "henon", "--steps", 10, "--out", link, "-q")
    assert result.exit_code == 0, result.output
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert cj.io.load(real)["state"].shape == (11, 2)
    assert oct(real.stat().st_mode & 0o777) == oct(0o640)
    assert sorted(p.name for p in real_dir.iterdir()) == ["real.nc"]
    # A dangling link: its target is created.
    dangling = tmp_path / "dangling.txt"
    dangling.symlink_to(real_dir / "new.txt")
    cj.io.write_text(dangling, "made\n")
    assert dangling.is_symlink() and (real_dir / "new.txt").read_text() == "made\n"


# --------------------------------------------------------------------------- code in configs


def test_system_file_in_a_config_runs_no_code_unless_asked(tmp_path):
    marker = tmp_path / "code_ran"
    (tmp_path / "mine.py").write_text(
        textwrap.dedent(f"""
        import pathlib
        import jax.numpy as jnp
        import chaosjax as cj
        pathlib.Path({str(marker)!r}).write_text("ran")

        class Decay(cj.Flow):
            k: float = cj.systems.param(0.5)
            def vector_field(self, x):
                return -self.k * x
            def default_state(self):
                return jnp.ones(2)
        """)
    )
    config = tmp_path / "shared.toml"
    config.write_text('system_file = "mine.py:Decay"\nsections = "system"\n')
    out = tmp_path / "report"
    result = invoke("report", "--config", config, "--out", out, "-q")
    assert_one_line_error(result, 2, "system_file", "--system-file", "--allow-code")
    assert not marker.exists() and not out.exists()
    result = invoke("report", "--config", config, "--out", out, "-q", "--allow-code")
    assert result.exit_code == 0, result.output
    assert marker.read_text() == "ran"
    assert "Decay" in (out / "index.html").read_text()


# --------------------------------------------------------------------------- Ctrl-C


def _popen(args):
    env = dict(os.environ, PYTHONPATH=SRC, PYTHONUNBUFFERED="1")
    return subprocess.Popen(
        [sys.executable, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )


def test_ctrl_c_stops_a_long_single_call_run_within_two_seconds(tmp_path):
    """SIGINT one second into a 3e9-step Lyapunov spectrum (the command) and a 2e7-step
    batched time average of 512 members (the library): each stops within 2 s, exit status 130, and
    writes nothing. The runs go in chunks of bounded work; Ctrl-C lands between them."""
    out = tmp_path / "lyap.nc"
    script = textwrap.dedent("""
        import sys, time, jax
        jax.config.update("jax_enable_x64", True)
        import chaosjax as cj
        lor = cj.systems.Lorenz63()
        x0 = lor.sample_state(jax.random.key(0), 512)
        cj.time_average(lor, x0, steps=100, dt=0.005)
        print("computing", flush=True)
        try:
            cj.time_average(lor, x0, lambda x: x[2], steps=20_000_000, dt=0.005)
        except KeyboardInterrupt:
            print("interrupted at", time.time(), flush=True)
            sys.exit(130)
        print("finished")
    """)
    procs = {
        "cli": _popen(
            ["-m", "chaosjax", "lyapunov", "lorenz63", "--steps", "3000000000"]
            + ["--out", str(out), "--no-plot"]
        ),
        "api": _popen(["-c", script]),
    }
    try:
        for name, proc in procs.items():
            assert proc.stdout is not None
            first = proc.stdout.readline()
            expect = "Lyapunov spectrum of lorenz63" if name == "cli" else "computing"
            assert expect in first, (name, first)
        time.sleep(1.0)
        # One at a time (on a shared machine the two would compete for the cores): the
        # library's run first, timed to the KeyboardInterrupt it raises, then the
        # command, timed to its exit.
        took = {}
        for name in ("api", "cli"):
            proc = procs[name]
            assert proc.poll() is None, (name, proc.communicate()[0])
            t0 = time.time()
            proc.send_signal(signal.SIGINT)
            output, _ = proc.communicate(timeout=30)
            end = time.time()
            if name == "api":
                end = float(output.split("interrupted at ")[1].split()[0])
            took[name] = end - t0
            assert proc.returncode == 130, (name, output)
            assert "Traceback" not in output and "finished" not in output, output
        assert "Interrupted. Nothing was written." in output
        assert max(took.values()) < 2.0, took
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert list(tmp_path.iterdir()) == []


def test_chunked_runs_are_bit_identical_to_one_chunk(monkeypatch):
    """The bounded chunks that let Ctrl-C in carry the state and the sums: the generated
    C Lyapunov loop split into calls of 50 pushes, and time averages, trajectories and
    running averages split into chunks of a few steps, give the very same bits."""
    from chaosjax.native import spectrum as native_spectrum
    from chaosjax.simulate import _chunked

    lor = cj.systems.Lorenz63()
    x0 = lor.sample_state(jax.random.key(0), 3)

    def runs():
        lyap = cj.lyapunov_spectrum(
            lor, x0[0], steps=3_001, dt=0.01, transient=101, qr_every=2, history=7
        )
        avg = cj.time_average(lor, x0, lambda x: x[2] ** 2, steps=1_001, dt=0.01, transient=9)
        traj = cj.trajectory(lor, x0, steps=300, dt=0.01, save_every=3)
        cum = cj.observables.cumulative_average(lor, x0, None, steps=300, dt=0.01, save_every=5)
        return [lyap.exponents, lyap.history, lyap.basis, avg, traj, cum.averages]

    whole = runs()
    monkeypatch.setattr(native_spectrum, "_PUSHES_PER_CALL", 50 * 3 * 3 * 6)
    monkeypatch.setattr(_chunked, "WORK_PER_CHUNK", 7 * 9)
    for a, b in zip(whole, runs(), strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_chunked_xla_lyapunov_is_bit_identical_and_finds_the_same_divergence(monkeypatch):
    """Without generated C (`CHAOSJAX_CGEN=0`: the XLA kernels, as on a GPU) a long run
    goes in calls of bounded work too: the same bits, the same divergence row."""
    from chaosjax.lyapunov import spectrum as spectrum_module

    monkeypatch.setenv("CHAOSJAX_CGEN", "0")
    lor = cj.systems.Lorenz63()
    blowup = cj.systems.get("logistic", r=4.5)  # leaves [0, 1] and runs off to -inf

    def runs():
        a = cj.lyapunov_spectrum(
            lor, lor.default_state(), steps=2_003, dt=0.01, transient=101, qr_every=2, history=7
        )
        b = cj.lyapunov_spectrum(
            blowup, jnp.array([0.5]), steps=20_003, history=7, qr_every=2, throw=False
        )
        return [a.exponents, a.history, a.basis, a.final_state, b.diverged_at]

    whole = runs()
    monkeypatch.setattr(spectrum_module, "_XLA_PUSHES_PER_CALL", 40 * 3 * 3 * 6)
    chunked = runs()
    assert 0 < int(whole[-1]) < 20  # the blow-up is found, at the same step
    for a, b in zip(whole, chunked, strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


# --------------------------------------------------------------------------- sizes


def test_runs_beyond_what_fits_are_refused_before_anything_is_allocated():
    lor, hen = cj.systems.Lorenz63(), cj.systems.Henon()
    with pytest.raises(ValueError, match=r"`steps` = 1180591620717411303424 \(plus 5 steps"):
        cj.lyapunov_spectrum(lor, lor.default_state(), steps=2**70, dt=0.01, transient=5)
    with pytest.raises(ValueError, match=r"at most 9007199254740992\); split the run"):
        cj.time_average(hen, hen.default_state(), steps=2**53, transient=1)
    memory = cj._validate.physical_memory()
    assert memory is not None and memory > 0
    # 1e11 states of 3 numbers are 2.4 TB: far beyond half of this machine's memory.
    with pytest.raises(ValueError, match=r"`steps`: a trajectory of 100000000001 states .*2\.4 TB"):
        cj.trajectory(lor, lor.default_state(), steps=10**11, dt=0.01)
    with pytest.raises(ValueError, match=r"save_every"):
        cj.trajectory(hen, hen.default_state()[None].repeat(8, 0), steps=10**11)
    with pytest.raises(ValueError, match=r"`steps`: 100000000000 running averages.*save_every"):
        cj.observables.cumulative_average(hen, hen.default_state(), None, steps=10**11)
    with pytest.raises(ValueError, match=r"`keep`: 1000 values x 10000000000 points"):
        cj.orbit_diagram(hen, "a", jnp.linspace(1.0, 1.4, 1000), transient=0, keep=10**10)
    # Beyond 2**31 steps the history counts need int64 (with 64-bit JAX).
    res = cj.lyapunov_spectrum(hen, hen.default_state(), steps=1000, history=4)
    assert res.history_steps.dtype == jnp.int64
    np.testing.assert_array_equal(res.history_steps, [250, 500, 750, 1000])


# --------------------------------------------------------------------------- unclear errors


def test_io_errors_name_the_file_or_the_argument(tmp_path):
    hen = cj.systems.Henon()
    ds = cj.io.trajectory_dataset(hen, np.zeros((3, 2)), dt=None)
    good = cj.io.save(ds, tmp_path / "good.nc")
    data = good.read_bytes()
    (tmp_path / "text.nc").write_text("x,y\n1,2\n")
    (tmp_path / "empty.nc").write_bytes(b"")
    (tmp_path / "half.nc").write_bytes(data[: len(data) // 2])
    cases = {
        "text.nc": "cannot be read as NetCDF: not a NetCDF-4/HDF5 file",
        "empty.nc": "is empty, not a NetCDF file",
        "half.nc": "cannot be read as NetCDF: truncated",
    }
    for name, message in cases.items():
        with pytest.raises(ValueError, match=f"'{tmp_path / name}' {message}"):
            cj.io.load(tmp_path / name)
    for call in (
        lambda: unchecked(cj.io.load)(None),
        lambda: unchecked(cj.io.save)(ds, None),
    ):
        with pytest.raises(ValueError, match=r"`path` must be a file path .* got None"):
            call()
    np.testing.assert_array_equal(cj.io.load(good)["state"].values, np.zeros((3, 2)))


def test_command_line_mistakes_are_one_line(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text(
        textwrap.dedent("""
        import jax.numpy as jnp
        import chaosjax as cj

        class Bad(cj.Flow):
            def vector_field(self, x):
                return jnp.zeros(5)
            def default_state(self):
                return jnp.ones(2)
        """)
    )
    abc = tmp_path / "abc.toml"
    abc.write_text('system = "lorenz63"\n[parameters]\nrho = "abc"\n')
    solver = tmp_path / "solver.toml"
    solver.write_text('system = "lorenz63"\nsolver = "rk5"\n')
    out, rep = tmp_path / "x.nc", tmp_path / "rep"
    cases = [
        (("simulate", "lorenz63", "--param", "rho=[1,2]", "--out", out), "`rho`", "scalar"),
        (("simulate", "lorenz63", "--steps", 10**11, "--out", out), "`steps`", "save_every"),
        (("lyapunov", "lorenz63", "--steps", 2**70, "--no-plot"), "`steps`", "at most"),
        (("bifurcation", "logistic", "--range", "3:4:100000000000"), "--range", "fewer values"),
        (("simulate", "--system-file", f"{bad}:Bad", "--out", out), "Bad.vector_field", "(5,)"),
        (("report", "--config", abc, "--out", rep), "parameters.rho", "'abc'"),
        (("report", "--config", solver, "--out", rep), "`solver`", "did you mean 'rk4'"),
        (("lyapunov", "henon", "--steps", 10, "--plot", "/proc/x.png"), "--plot", "/proc"),
    ]
    for args, *fragments in cases:
        assert_one_line_error(invoke(*args), 2, *fragments)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["abc.toml", "bad.py", "solver.toml"]
