"""The generated kernels as XLA custom calls (`jax.ffi`), for traced calls.

Inside `jit`, `vmap` or `grad` the states are tracers and no C function can be called
with them; what can be done is to put the kernel *into* the XLA program. A small C++
library (`ffi_shim.cc`, compiled once per machine against the XLA FFI headers that
ship with jaxlib, `jax.ffi.include_dir()`) defines four FFI handlers, `cj_ffi_sum`
(the batched time loop of `simulate.py`), `cj_ffi_store` (stored orbits, `stored.py`),
`cj_ffi_spectrum` (Benettin's loop of `spectrum.py`) and `cj_ffi_spectrum_batch` (the
same for a batch of orbits, `batched_spectrum.py`), registered as the custom-call targets
`chaosjax_sum`, `chaosjax_store`, `chaosjax_spectrum` and `chaosjax_spectrum_batch`. Each
generated kernel is compiled and loaded as for eager calls (`compile.py`), and its entry
point registered with the shim under its cache key; the custom call names that key in an
attribute.

`available()` is False (and the callers keep their XLA kernels) when the shim cannot
be built: no C++ compiler, no FFI headers, or a JAX without `jax.ffi`.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import logging
import os
import threading

import jax
import numpy as np

from . import compile as cc

SUM_TARGET = "chaosjax_sum"
SPECTRUM_TARGET = "chaosjax_spectrum"
SPECTRUM_BATCH_TARGET = "chaosjax_spectrum_batch"
STORE_TARGET = "chaosjax_store"

_lock = threading.Lock()
_state: dict = {}
_registered: set[str] = set()
log = logging.getLogger("chaosjax.native")


def cxx() -> str:
    """The C++ compiler: `$CXX`, else the C++ driver of the C compiler (g++, clang++)."""
    if os.environ.get("CXX"):
        return os.environ["CXX"]
    c = os.path.basename(cc.compiler())
    known = {"gcc": "g++", "clang": "clang++", "cc": "c++"}
    return known.get(c, "clang++" if "clang" in c else "g++")


def _shim_source() -> str:
    with open(os.path.join(os.path.dirname(__file__), "ffi_shim.cc")) as fh:
        return fh.read()


def _shim():
    """The loaded shim library, its targets registered with XLA; None if unavailable."""
    with _lock:
        if "lib" in _state:
            return _state["lib"]
        _state["lib"] = None
        if not cc.enabled():
            _state.pop("lib")
            return None
        try:
            include = jax.ffi.include_dir()
            compiler = cxx()
            args = ["-O2", "-std=c++17", "-fPIC", "-shared", "-w", f"-I{include}"]
            src = _shim_source()
            # The headers' version is part of the key: a new jaxlib rebuilds the shim.
            with open(os.path.join(include, "xla", "ffi", "api", "c_api.h"), "rb") as fh:
                headers = hashlib.sha256(fh.read()).hexdigest()
            key = hashlib.sha256("\0".join([compiler, *args, headers, src]).encode())
            path = cc.build(src, compiler, "ffi-" + key.hexdigest()[:32], ".cc", (), args)
            lib = ctypes.CDLL(path)
            lib.cj_ffi_register.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
            lib.cj_ffi_register.restype = None
            jax.ffi.register_ffi_target(SUM_TARGET, jax.ffi.pycapsule(lib.cj_ffi_sum), "cpu")
            jax.ffi.register_ffi_target(
                SPECTRUM_TARGET, jax.ffi.pycapsule(lib.cj_ffi_spectrum), "cpu"
            )
            jax.ffi.register_ffi_target(
                SPECTRUM_BATCH_TARGET, jax.ffi.pycapsule(lib.cj_ffi_spectrum_batch), "cpu"
            )
            jax.ffi.register_ffi_target(STORE_TARGET, jax.ffi.pycapsule(lib.cj_ffi_store), "cpu")
        except cc.UnsafeCacheError as e:
            cc.warn_once("unsafe-cache", f"{e} The XLA path runs instead.")
            return None
        except (OSError, AttributeError, ValueError, RuntimeError) as e:
            if not isinstance(e, cc._Reported):
                cc.warn_once(
                    "ffi-shim",
                    f"chaosjax could not build its XLA custom-call library ({e}); inside "
                    "jit/vmap the XLA kernels run instead of the native ones.",
                )
            return None
        _state["lib"] = lib
        return lib


def available() -> bool:
    """True when native kernels can run inside XLA programs (the shim is built)."""
    return _shim() is not None


def register(fn) -> str | None:
    """The name under which the custom calls find the kernel `fn` (a ctypes function
    from `compile.compile_kernel`); None without the shim."""
    lib = _shim()
    if lib is None:
        return None
    address = ctypes.cast(fn, ctypes.c_void_p).value
    name = getattr(fn, "cj_key", None) or f"{address:x}"
    if name not in _registered:
        lib.cj_ffi_register(name.encode(), address)
        _registered.add(name)
    return name


CHECK_FAILED = "a checked run met a non-finite state"  # (ffi_shim.cc)


def failed_check(e: Exception) -> bool:
    """Whether `e`, raised by running or waiting for a program with a checked custom
    call (`store_call`, `spectrum_call`), is the check failing; jaxlib raises it as
    `JaxRuntimeError` or, when the call ran at dispatch, as `ValueError`."""
    return isinstance(e, (jax.errors.JaxRuntimeError, ValueError)) and CHECK_FAILED in str(e)


@functools.cache
def _grad_notice() -> None:
    log.warning(
        "chaosjax: derivatives of a native (generated C) time loop are computed by the "
        "XLA kernels (the same numbers, at XLA's speed); the primal run stays native."
    )


def grad_notice() -> None:
    """Say once per process that a derivative runs on the XLA path."""
    _grad_notice()


def sum_call(name: str, P, X, A, steps: int, threads: int):
    """The custom call of the batched time loop: X (dim, npad), A (k, npad) updated."""
    call = jax.ffi.ffi_call(
        SUM_TARGET,
        (jax.ShapeDtypeStruct(X.shape, np.float64), jax.ShapeDtypeStruct(A.shape, np.float64)),
        input_output_aliases={1: 0, 2: 1},
    )
    return call(P, X, A, kernel=name, steps=np.int64(steps), threads=np.int64(threads))


def store_call(
    name: str, P, X, shape, n, transient, n_saves, save_every, with_start, threads, check=0
):
    """The custom call of a stored orbit (`stored.py`): (X (dim, npad) updated, the saved
    states of `shape` (n, rows, dim) or (rows, dim), the counts (n,)). `check` 1: the
    call fails (`jax.errors.JaxRuntimeError`) when a starting state is not finite; 2:
    also when a saved or end state is not (`failed_check`).

    X is updated in place (an alias of the first output) for a batch; one state (n = 1)
    is copied by the handler instead: an aliased input that is not donated costs XLA a
    copy kernel of its own before the call, which for a few numbers is a larger part of
    a short run than the copy."""
    call = jax.ffi.ffi_call(
        STORE_TARGET,
        (
            jax.ShapeDtypeStruct(X.shape, np.float64),
            jax.ShapeDtypeStruct(tuple(shape), np.float64),
            jax.ShapeDtypeStruct((n,), np.float64),
        ),
        input_output_aliases={} if n == 1 else {1: 0},
    )
    ints = dict(
        n=n,
        transient=transient,
        nsaves=n_saves,
        save_every=save_every,
        with_start=int(with_start),
        threads=threads,
        check=check,
    )
    return call(P, X, kernel=name, **{k: np.int64(v) for k, v in ints.items()})


def spectrum_call(name: str, P, Y, *, k: int, rows: int, blocks: int, length: int, check=0):
    """The custom call of Benettin's loop: `rows` x `blocks` blocks of `length` pushes on
    Y (state, basis, carry: `spectrum._carry_in`), a history row after each group; (Y,
    rows (rows, 3 k + 1)). `check` 1: the call fails (`failed_check`) where the run
    would be found diverged (a row's or the end's state or log-sums not finite)."""
    call = jax.ffi.ffi_call(
        SPECTRUM_TARGET,
        (
            jax.ShapeDtypeStruct(Y.shape, np.float64),
            jax.ShapeDtypeStruct((rows, 3 * k + 1), np.float64),
        ),
        input_output_aliases={1: 0},
    )
    ints = dict(rows=rows, blocks=blocks, length=length, check=check)
    return call(P, Y, kernel=name, **{n: np.int64(v) for n, v in ints.items()})


def spectrum_batch_call(
    name: str, P, Y, *, dim, k, transient, qr_every, plan, threads, history=True
):
    """The custom call of Benettin's loop for a batch (`batched_spectrum.py`): P
    (n_params, npad) and Y (rows of Y, npad) structure-of-arrays; returns (Y, history
    rows (rows, k+1, npad), states after the transient and their finiteness flags
    (dim+1, npad)). Without `history` the history output is empty, (0, k+1, npad), and
    the rows' blocks run as one (the same orbits; log-sums equal to rounding)."""
    rows, per_row, tail_blocks, tail_steps = plan
    npad = Y.shape[1]
    call = jax.ffi.ffi_call(
        SPECTRUM_BATCH_TARGET,
        (
            jax.ShapeDtypeStruct(Y.shape, np.float64),
            jax.ShapeDtypeStruct((rows if history else 0, k + 1, npad), np.float64),
            jax.ShapeDtypeStruct((dim + 1, npad), np.float64),
        ),
        input_output_aliases={1: 0},
    )
    ints = dict(
        dim=dim,
        k=k,
        transient=transient,
        qr_every=qr_every,
        rows=rows,
        per_row=per_row,
        tail_blocks=tail_blocks,
        tail_steps=tail_steps,
        threads=threads,
    )
    return call(P, Y, kernel=name, **{n: np.int64(v) for n, v in ints.items()})
