"""Compiling generated C: the compiler, the on-disk cache, loading through ctypes.

A kernel's source is compiled once (`flags()`: `-O3`, the processor's own instruction
set, OpenMP; FMA contraction allowed, no -ffast-math: NaN and inf behave as in IEEE
arithmetic) into a shared library named by a hash of the compiler, its flags, the
processor and the source, under `$XDG_CACHE_HOME/chaosjax` (default
`~/.cache/chaosjax`). Within a process, libraries are kept by that hash, and kernels
by the structure of what they were generated from (`cached`).

Nothing is loaded from a directory another user could write to: the cache directory
is created 0700 and checked for its owner and mode before every load
(`check_cache_dir`), and each library is loaded only when its SHA-256 matches the
digest written beside it after an atomic build (a library planted there without one,
or with another, is refused and rebuilt). A compiler that is missing or fails is
reported once per process (`NativeWarning`, with the compiler's message); the XLA
path runs instead.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import hashlib
import os
import platform
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
import warnings
from typing import Any


class NativeWarning(UserWarning):
    """The generated-C backend cannot run here (no compiler, a failed compilation, an
    unsafe cache directory); the XLA path runs instead."""


class UnsafeCacheError(OSError):
    """The kernel cache directory is not private to this user."""


class _Reported(OSError):
    """A failure already reported by a `NativeWarning`."""


def enabled() -> bool:
    """False when the environment variable `CHAOSJAX_CGEN` turns generated C off.

    Asked at every remembered eager call (`_remembered`), so written for speed where the
    variable is unset: `os.environ.get` of an unset name costs 0.5 µs (a `KeyError`
    raised and caught inside), a membership test in `os.environ`'s own encoded mapping
    (CPython's `os.environ._data`) 0.1 µs; the plain call where that mapping is
    missing."""
    data = getattr(os.environ, "_data", None)  # (read each time: os.environ may be replaced)
    if type(data) is dict and _CGEN_KEY is not None and _CGEN_KEY not in data:
        return True
    raw = os.environ.get("CHAOSJAX_CGEN")
    return raw is None or raw.strip().lower() not in ("0", "false", "no", "off")


def _encoded_key(name: str):
    try:
        return os.environ.encodekey(name)  # type: ignore[attr-defined]
    except (AttributeError, TypeError, ValueError):
        return None


_CGEN_KEY = _encoded_key("CHAOSJAX_CGEN")


def cores() -> int:
    """The cores this process may run on (its affinity where the OS tells it)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # no affinity on this OS (macOS, Windows)
        return max(1, os.cpu_count() or 1)


def compiler() -> str:
    """The C compiler: `$CC`, else clang on macOS and gcc elsewhere."""
    return os.environ.get("CC") or ("clang" if sys.platform == "darwin" else "gcc")


def _is_x86() -> bool:
    return platform.machine().lower() in ("x86_64", "amd64", "i386", "i686", "x86")


def arch_flags() -> list[str]:
    """Flags for this processor's own instruction set. x86: `-march=native`, and 512-bit
    vectors (gcc vectorises 256 bits wide by default even where AVX-512 is present;
    eight doubles a vector pay on such processors and change nothing elsewhere,
    benchmarks/RESULTS.md). ARM and others: `-mcpu=native` (macOS: none, clang's
    default targets the machine's own cores)."""
    if _is_x86():
        return ["-march=native", "-mprefer-vector-width=512"]
    if sys.platform == "darwin":
        return []
    if platform.machine().lower() in ("aarch64", "arm64", "armv8l", "ppc64le", "ppc64"):
        return ["-mcpu=native"]
    return []


def openmp_flags(cc: str | None = None) -> list[str]:
    """The flags that turn OpenMP on for `cc` (macOS: `-Xpreprocessor -fopenmp -lomp`
    when libomp is installed, found by a test compilation); [] without OpenMP, when the
    kernels run on one thread."""
    cc = cc or compiler()
    if sys.platform != "darwin":
        return ["-fopenmp"]
    return _openmp_probe(cc)


@functools.cache
def _openmp_probe(cc: str) -> list[str]:
    candidates = [["-Xpreprocessor", "-fopenmp", "-lomp"], ["-fopenmp"]]
    prefix = os.environ.get("HOMEBREW_PREFIX", "/opt/homebrew")
    inc, lib = os.path.join(prefix, "opt/libomp/include"), os.path.join(prefix, "opt/libomp/lib")
    if os.path.isdir(inc):
        candidates.insert(0, ["-Xpreprocessor", "-fopenmp", f"-I{inc}", f"-L{lib}", "-lomp"])
    src = "#include <omp.h>\nint f(void) { return omp_get_max_threads(); }\n"
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "t.c"), "w") as fh:
            fh.write(src)
        for flags in candidates:
            try:
                subprocess.run(
                    [cc, *flags, "-shared", "-fPIC", "t.c", "-o", "t.so"],
                    cwd=tmp,
                    check=True,
                    capture_output=True,
                    timeout=60,
                )
                return flags
            except (OSError, subprocess.SubprocessError):
                continue
    return []


def flags(cc: str | None = None) -> list[str]:
    """Every flag a kernel is compiled with by `cc` on this machine."""
    return [
        "-O3",
        *arch_flags(),
        "-ffp-contract=fast",
        "-fno-math-errno",
        *openmp_flags(cc),
        "-fPIC",
        "-shared",
    ]


_lock = threading.Lock()
_warned: set[str] = set()  # what was reported already (once per process)
_no_compiler: set[str] = set()  # compilers found missing or failing
_libs: dict[str, Any] = {}
_handles: dict[str, ctypes.CDLL] = {}  # loaded libraries, alive as long as the process


def warn_once(what: str, message: str) -> None:
    """A `NativeWarning` with `message`, the first time `what` happens in this process."""
    if what not in _warned:
        _warned.add(what)
        warnings.warn(message, NativeWarning, stacklevel=4)


def cache_dir() -> str:
    """The directory of compiled kernels: `$XDG_CACHE_HOME/chaosjax` (default
    `~/.cache/chaosjax`)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "chaosjax")


def check_cache_dir(directory: str | None = None, *, create: bool = True) -> str:
    """The cache directory, created 0700, after checking it is a real directory owned
    by this user that no one else can write to (a directory we own that others can only
    read is made 0700). Raises `UnsafeCacheError` otherwise."""
    directory = directory or cache_dir()
    if create:
        os.makedirs(directory, mode=0o700, exist_ok=True)
    st = os.lstat(directory)
    if not stat.S_ISDIR(st.st_mode):
        raise UnsafeCacheError(f"the kernel cache {directory} is not a directory (a link?)")
    getuid = getattr(os, "getuid", None)
    if getuid is not None:
        if st.st_uid != getuid():
            raise UnsafeCacheError(
                f"the kernel cache {directory} belongs to user id {st.st_uid}, not to this "
                f"user ({getuid()}): no compiled kernel is loaded from it. Remove it, or set "
                "XDG_CACHE_HOME to a private directory."
            )
        if st.st_mode & 0o022:
            raise UnsafeCacheError(
                f"the kernel cache {directory} is writable by other users (mode "
                f"{stat.S_IMODE(st.st_mode):o}): no compiled kernel is loaded from it. Run "
                f"`chmod 700 {directory}` after checking its contents, or remove it."
            )
        if stat.S_IMODE(st.st_mode) != 0o700:
            os.chmod(directory, 0o700)
    return directory


@functools.cache
def _cpu_fingerprint() -> str:
    """The processor's model and instruction-set flags (what -march=native depends on)."""
    parts = [platform.machine(), sys.platform]
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


def kernel_key(src: str, cc: str | None = None) -> str:
    """The cache name of `src` built by `cc` here."""
    cc = cc or compiler()
    # -march=native code is only valid on this kind of CPU: a cache shared between
    # machines (an HPC home directory) must not hand an AVX-512 build to another CPU.
    key = hashlib.sha256("\0".join([cc, *flags(cc), _cpu_fingerprint(), src]).encode())
    return key.hexdigest()[:32]


def compile_kernel(src: str, argtypes: list, symbol: str = "cj_kernel"):
    """The kernel function `symbol` of `src`, compiled (or found in the cache), with
    ctypes `argtypes`; None if the compiler is missing or fails, or the cache is
    unsafe (each reported once, as a `NativeWarning`)."""
    cc = compiler()
    key = kernel_key(src, cc)
    argtypes = list(argtypes)
    with _lock:
        if key in _libs:
            return _libs[key]
        fn = None
        if cc not in _no_compiler:
            try:
                fn = _load(build(src, cc, key), argtypes, symbol)
                fn.cj_key = key  # (the name of its XLA custom call, ffi.py)
            except _Reported:
                pass
            except UnsafeCacheError as e:
                warn_once("unsafe-cache", f"{e} The XLA path runs instead.")
            except (OSError, subprocess.SubprocessError, AttributeError) as e:
                warn_once(
                    f"load {e}", f"chaosjax could not load a native kernel ({e}); XLA runs it."
                )
        _libs[key] = fn
        return fn


def digest(path: str) -> str:
    """SHA-256 of the library's file name and bytes (a library copied under another
    kernel's name, with that kernel's digest, does not match)."""
    with open(path, "rb") as fh:
        return hashlib.sha256(os.path.basename(path).encode() + b"\0" + fh.read()).hexdigest()


def _verified(path: str) -> bool:
    """The library at `path` is a plain file whose digest is the one written beside it."""
    try:
        with open(path + ".sha256") as fh:
            want = fh.read().strip()
        return os.path.isfile(path) and not os.path.islink(path) and digest(path) == want
    except OSError:
        return False


@contextlib.contextmanager
def _file_lock(path: str):
    """An exclusive lock on `path` between processes (none where fcntl is missing)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: atomic renames suffice
        yield
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def build(
    src: str,
    cc: str,
    key: str,
    suffix: str = ".c",
    extra: tuple = ("-lm",),
    args: list[str] | None = None,
) -> str:
    """The path of the verified library `cgen-<key>.so` built from `src`: found in the
    cache, or compiled in a private temporary directory, its digest written, and both
    renamed into place (atomic; concurrent builders wait on a lock file). A library
    found without a matching digest is refused and rebuilt (a `NativeWarning` when a
    digest was there: the library was changed after it was built)."""
    directory = check_cache_dir()
    path = os.path.join(directory, f"cgen-{key}.so")
    if _verified(path):
        return path
    if shutil.which(cc) is None:
        _no_compiler.add(cc)
        warn_once(
            f"no-cc {cc}",
            f"no C compiler {cc!r} found: chaosjax's native kernels are off and XLA runs "
            "instead (set CC to a compiler, or CHAOSJAX_CGEN=0 to silence this).",
        )
        raise _Reported(f"no C compiler {cc!r}")
    with _file_lock(path + ".lock"):
        if _verified(path):  # built by another process meanwhile
            return path
        if os.path.lexists(path + ".sha256"):  # (none: an older chaosjax built it)
            warn_once(
                f"refused {path}",
                f"refusing the shared library {path}: its SHA-256 does not match the digest "
                "written when it was built (or there is none); it is rebuilt.",
            )
        with tempfile.TemporaryDirectory(dir=directory) as tmp:
            source, so_file = f"k{suffix}", os.path.join(tmp, "k.so")
            with open(os.path.join(tmp, source), "w") as fh:
                fh.write(src)
            cmd = [cc, *(flags(cc) if args is None else args), source, "-o", "k.so", *extra]
            try:  # relative names: the same source gives the same bytes
                subprocess.run(cmd, cwd=tmp, check=True, capture_output=True, timeout=300)
            except subprocess.CalledProcessError as e:
                message = (e.stderr or b"").decode(errors="replace").strip()
                warn_once(
                    f"failed {cc}",
                    f"compiling a native kernel with {' '.join(cmd)} failed (exit status "
                    f"{e.returncode}); XLA runs instead. The compiler said:\n{message[-4000:]}",
                )
                raise _Reported(message) from e
            named = os.path.join(tmp, os.path.basename(path))
            os.replace(so_file, named)
            with open(named + ".sha256", "w") as fh:
                fh.write(digest(named) + "\n")
            os.replace(named, path)
            os.replace(named + ".sha256", path + ".sha256")
    return path


def _load(path: str, argtypes, symbol: str = "cj_kernel"):
    lib = ctypes.CDLL(path)
    fn = getattr(lib, symbol)
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
