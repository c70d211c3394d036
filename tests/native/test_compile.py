"""The kernel cache is private and verified; compiler trouble is reported, not hidden."""

import ctypes
import hashlib
import os
import shutil
import stat
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from chaosjax.native import compile as cc

needs_gcc = pytest.mark.skipif(shutil.which("gcc") is None, reason="no gcc")

ARGS = [ctypes.c_void_p]


def source(value: float, tag: str) -> str:
    return f"/* {tag} */\nvoid cj_kernel(double *x) {{ x[0] = {value!r}; }}\n"


def call(fn) -> float:
    out = np.zeros(1)
    fn(out.ctypes.data)
    return float(out[0])


@pytest.fixture
def fresh(monkeypatch, tmp_path):
    """An empty private cache and no memory of earlier builds or warnings."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("CC", "gcc")
    monkeypatch.setattr(cc, "_libs", {})
    monkeypatch.setattr(cc, "_warned", set())
    monkeypatch.setattr(cc, "_no_compiler", set())
    return tmp_path


@needs_gcc
def test_cache_is_private_and_verified(fresh):
    tag = f"private {os.getpid()}"
    assert call(cc.compile_kernel(source(1.5, tag), ARGS)) == 1.5
    directory = cc.cache_dir()
    assert stat.S_IMODE(os.stat(directory).st_mode) == 0o700
    path = os.path.join(directory, f"cgen-{cc.kernel_key(source(1.5, tag))}.so")
    with open(path, "rb") as fh, open(path + ".sha256") as digest:
        want = hashlib.sha256(os.path.basename(path).encode() + b"\0" + fh.read())
        assert digest.read().strip() == want.hexdigest()


@needs_gcc
def test_planted_library_is_refused(fresh):
    good, evil = source(1.0, f"good {os.getpid()}"), source(666.0, f"evil {os.getpid()}")
    evil_path = cc.build(evil, "gcc", cc.kernel_key(evil))
    target = os.path.join(cc.cache_dir(), f"cgen-{cc.kernel_key(good)}.so")
    shutil.copy(evil_path, target)  # a library that is not what `good` compiles to ...
    shutil.copy(evil_path + ".sha256", target + ".sha256")  # ... even with its digest
    with pytest.warns(cc.NativeWarning, match="refusing the shared library"):
        fn = cc.compile_kernel(good, ARGS)
    assert call(fn) == 1.0  # rebuilt from the source, not the planted one
    # Without any digest beside it: not loaded either (rebuilt quietly, as an old cache).
    other = source(2.0, f"other {os.getpid()}")
    target = os.path.join(cc.cache_dir(), f"cgen-{cc.kernel_key(other)}.so")
    shutil.copy(evil_path, target)
    assert call(cc.compile_kernel(other, ARGS)) == 2.0


def test_unsafe_cache_dir_is_refused(fresh, monkeypatch):
    directory = cc.cache_dir()
    os.makedirs(directory)
    os.chmod(directory, 0o777)
    with pytest.raises(cc.UnsafeCacheError, match="writable by other users"):
        cc.check_cache_dir()
    with pytest.warns(cc.NativeWarning, match="writable by other users"):
        assert cc.compile_kernel(source(3.0, "unsafe"), ARGS) is None
    os.chmod(directory, 0o755)  # ours, readable by others only: tightened, accepted
    assert cc.check_cache_dir() == directory
    assert stat.S_IMODE(os.stat(directory).st_mode) == 0o700
    monkeypatch.setattr(os, "getuid", lambda: os.stat(directory).st_uid + 1)
    with pytest.raises(cc.UnsafeCacheError, match="belongs to user id"):
        cc.check_cache_dir()


def test_compiler_failure_is_reported_once(fresh):
    fake = fresh / "failing-cc"
    fake.write_text("#!/bin/sh\necho 'fatal: this compiler is broken on purpose' >&2\nexit 3\n")
    fake.chmod(0o755)
    os.environ["CC"] = str(fake)  # (fresh's monkeypatch restores it)
    with pytest.warns(cc.NativeWarning, match="broken on purpose") as record:
        assert cc.compile_kernel(source(4.0, "a"), ARGS) is None
        assert cc.compile_kernel(source(5.0, "b"), ARGS) is None
    assert len(record) == 1
    os.environ["CC"] = str(fresh / "no-such-cc")
    with pytest.warns(cc.NativeWarning, match="no C compiler"):
        assert cc.compile_kernel(source(6.0, "c"), ARGS) is None


def test_flags_follow_the_platform(monkeypatch):
    monkeypatch.setattr(cc.platform, "machine", lambda: "aarch64")
    monkeypatch.setattr(cc.sys, "platform", "linux")
    assert "-mcpu=native" in cc.flags("gcc") and not any("march" in f for f in cc.flags("gcc"))
    monkeypatch.setattr(cc.platform, "machine", lambda: "x86_64")
    assert "-march=native" in cc.flags("gcc") and "-fopenmp" in cc.flags("gcc")
    monkeypatch.setattr(cc.platform, "machine", lambda: "arm64")
    monkeypatch.setattr(cc.sys, "platform", "darwin")
    monkeypatch.delenv("CC", raising=False)
    assert cc.compiler() == "clang" and cc.arch_flags() == []


@needs_gcc
def test_two_processes_build_the_same_kernel_at_once(fresh):
    src = source(7.25, f"race {os.getpid()}")
    script = textwrap.dedent(
        f"""
        import ctypes, numpy as np
        from chaosjax.native import compile as cc
        fn = cc.compile_kernel({src!r}, [ctypes.c_void_p])
        out = np.zeros(1)
        fn(out.ctypes.data)
        print(out[0])
        """
    )
    env = dict(os.environ)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    for p, (out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err.decode()
        assert float(out) == 7.25
    assert cc._verified(os.path.join(cc.cache_dir(), f"cgen-{cc.kernel_key(src)}.so"))
