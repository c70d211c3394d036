"""Compiling generated C: the compiler, the on-disk cache, loading through ctypes.

A kernel's source is compiled once with `gcc -O3 -march=native -fopenmp` (`$CC` if
set; FMA contraction allowed, no -ffast-math: NaN and inf behave as in IEEE
arithmetic) into a shared library named by a hash of the compiler, its flags, the
processor and the source, under `$XDG_CACHE_HOME/chaosjax` (default
`~/.cache/chaosjax`). Within a process, libraries are kept by that hash, and kernels
by the structure of what they were generated from (`cached`).
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import shutil
import subprocess
import tempfile
import threading
from typing import Any

# gcc vectorises 256 bits wide by default even where AVX-512 is present; 512-bit
# vectors (eight doubles) pay on such processors and change nothing elsewhere
# (benchmarks/RESULTS.md).
CFLAGS = [
    "-O3",
    "-march=native",
    "-mprefer-vector-width=512",
    "-ffp-contract=fast",
    "-fno-math-errno",
    "-fopenmp",
    "-fPIC",
    "-shared",
]


def enabled() -> bool:
    """False when the environment variable `CHAOSJAX_CGEN` turns generated C off."""
    return os.environ.get("CHAOSJAX_CGEN", "1").strip().lower() not in ("0", "false", "no", "off")


def cores() -> int:
    """The cores this process may run on (its affinity where the OS tells it)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # no affinity on this OS (macOS, Windows)
        return max(1, os.cpu_count() or 1)


_lock = threading.Lock()
_no_compiler: set[str] = set()  # compilers found missing
_libs: dict[str, Any] = {}
_handles: dict[str, ctypes.CDLL] = {}  # loaded libraries, alive as long as the process


def _cache_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "chaosjax")


@functools.cache
def _cpu_fingerprint() -> str:
    """The processor's model and instruction-set flags (what -march=native depends on)."""
    import platform

    parts = [platform.machine()]
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith(("model name", "flags", "Features", "CPU part")):
                    parts.append(line.strip())
                if line.strip() == "":
                    break  # the first processor is enough
    except OSError:
        parts.append(platform.processor())
    return "\n".join(parts)


def compile_kernel(src: str, argtypes: list):
    """The kernel function `cj_kernel` of `src`, compiled (or found in the cache), with
    ctypes `argtypes`; None if the compiler is missing or fails."""
    cc = os.environ.get("CC") or "gcc"
    # -march=native code is only valid on this kind of CPU: a cache shared between
    # machines (an HPC home directory) must not hand an AVX-512 build to another CPU.
    key = hashlib.sha256("\0".join([cc, *CFLAGS, _cpu_fingerprint(), src]).encode())
    key = key.hexdigest()[:32]
    argtypes = list(argtypes)
    with _lock:
        if key in _libs:
            return _libs[key]
        fn = None
        if cc not in _no_compiler:
            try:
                fn = _load(_build(src, cc, key), argtypes)
            except (OSError, subprocess.SubprocessError, AttributeError):
                fn = None
        _libs[key] = fn
        return fn


def _build(src: str, cc: str, key: str) -> str:
    directory = _cache_dir()
    path = os.path.join(directory, f"cgen-{key}.so")
    if os.path.exists(path):
        return path
    if shutil.which(cc) is None:
        _no_compiler.add(cc)
        raise OSError(f"no C compiler {cc!r}")
    os.makedirs(directory, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=directory) as tmp:
        c_file, so_file = os.path.join(tmp, "k.c"), os.path.join(tmp, "k.so")
        with open(c_file, "w") as fh:
            fh.write(src)
        subprocess.run(
            [cc, *CFLAGS, c_file, "-o", so_file, "-lm"],
            check=True,
            capture_output=True,
            timeout=120,
        )
        os.replace(so_file, path)  # atomic: concurrent builders write the same bytes
    return path


def _load(path: str, argtypes):
    lib = ctypes.CDLL(path)
    fn = lib.cj_kernel
    fn.restype = None
    fn.argtypes = argtypes
    _handles[path] = lib
    return fn


def cached(cache: dict, key, make):
    """make(), kept in `cache` under `key` (None: not kept). Bounded: a new lambda per
    call is a new key."""
    if key is None:
        return make()
    if key not in cache:
        if len(cache) >= 256:
            cache.clear()
        cache[key] = make()
    return cache[key]
