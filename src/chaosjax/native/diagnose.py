"""What this machine supports for the native backend (`chaosjax doctor`).

`diagnose()` checks each part the generated kernels need -- the C compiler and its
flags, OpenMP, the kernel cache, the C++ compiler and XLA FFI headers of the custom
calls (building them once), JAX's devices. `chaosjax doctor` (cli/doctor.py) then runs
a small kernel, eagerly and inside `jax.jit`.
"""

from __future__ import annotations

import ctypes
import os
import platform
import shutil
import stat
import subprocess
import sys
import tempfile

from . import compile as cc


def _version(tool: str) -> str:
    try:
        out = subprocess.run([tool, "--version"], capture_output=True, text=True, timeout=30)
        return out.stdout.splitlines()[0] if out.stdout else "?"
    except (OSError, subprocess.SubprocessError, IndexError):
        return "?"


def _openmp_threads(compiler: str) -> str:
    """Compile and run an OpenMP region here: the threads it got, or why not."""
    flags = cc.openmp_flags(compiler)
    if not flags:
        return "no (the kernels run on one thread)"
    src = (
        "#include <omp.h>\nint cj_threads(void) { int n = 0;\n"
        "#pragma omp parallel\n{\n#pragma omp atomic\nn++;\n}\nreturn n; }\n"
    )
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "t.c"), "w") as fh:
            fh.write(src)
        try:
            subprocess.run(
                [compiler, *flags, "-fPIC", "-shared", "t.c", "-o", "t.so"],
                cwd=tmp,
                check=True,
                capture_output=True,
                timeout=60,
            )
            n = ctypes.CDLL(os.path.join(tmp, "t.so")).cj_threads()
        except (OSError, subprocess.SubprocessError) as e:
            return f"no ({e})"
    return f"yes, {' '.join(flags)} ({n} threads here; the kernels use {cc.cores()})"


def _cache_state() -> str:
    directory = cc.cache_dir()
    if not os.path.exists(directory):
        return f"{directory} (not created yet; it will be, mode 0700)"
    try:
        cc.check_cache_dir(directory, create=False)
    except cc.UnsafeCacheError as e:
        return f"UNSAFE: {e}"
    st = os.stat(directory)
    libs = [f for f in os.listdir(directory) if f.endswith(".so")]
    verified = sum(cc._verified(os.path.join(directory, f)) for f in libs)
    size = sum(os.path.getsize(os.path.join(directory, f)) for f in libs)
    return (
        f"{directory} (mode {stat.S_IMODE(st.st_mode):o}, yours; {len(libs)} libraries, "
        f"{verified} with a matching digest, {size / 1e6:.1f} MB)"
    )


def diagnose() -> dict[str, str]:
    """What the native backend finds here, item by item."""
    import jax

    from . import ffi

    out: dict[str, str] = {}
    out["platform"] = f"{platform.system()} {platform.machine()}, Python {sys.version.split()[0]}"
    out["CHAOSJAX_CGEN"] = (
        "on" if cc.enabled() else "off (CHAOSJAX_CGEN=0: the XLA kernels run everywhere)"
    )
    compiler = cc.compiler()
    found = shutil.which(compiler)
    out["C compiler"] = f"{found} ({_version(compiler)})" if found else f"{compiler!r} not found"
    out["C flags"] = " ".join(cc.flags(compiler))
    out["OpenMP"] = _openmp_threads(compiler) if found else "unknown (no compiler)"
    out["kernel cache"] = _cache_state()
    cxx = ffi.cxx()
    out["C++ compiler (XLA custom calls)"] = (
        f"{shutil.which(cxx)} ({_version(cxx)})" if shutil.which(cxx) else f"{cxx!r} not found"
    )
    try:
        out["XLA FFI headers"] = jax.ffi.include_dir()
    except AttributeError:
        out["XLA FFI headers"] = "none (this JAX has no jax.ffi)"
    out["JAX"] = f"{jax.__version__}, default backend {jax.default_backend()}"
    out["devices"] = ", ".join(str(d) for d in jax.devices())
    out["XLA custom calls"] = "available" if ffi.available() else "unavailable (XLA kernels in jit)"
    return out
