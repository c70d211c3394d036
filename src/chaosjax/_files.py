"""Files written atomically: text, JSON, figures and xarray datasets (NetCDF or Zarr).

A file is written to a temporary name in the target's own directory, flushed to disk,
then renamed over the target with `os.replace`: an interrupted or killed writer leaves
either the previous file or the complete new one, never a truncated file. Public
through `cj.io`; here so that every layer (checkpoints of the training loop included)
can write safely without importing the faces.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import socket
import stat
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr


def zarr_available() -> bool:
    """Whether the optional `zarr` package is importable (needed for `.zarr` outputs).

    **Returns:**

    True or False.

    Example:

    ```python
    path = "run.zarr" if cj.io.zarr_available() else "run.nc"
    ```
    """
    try:
        import zarr  # noqa: F401  # pyright: ignore[reportMissingImports] (optional)
    except ImportError:
        return False
    return True


# --------------------------------------------------------------------------- atomic writes


class WriteError(OSError):
    """A failed atomic write (`atomic_path`, `save`, `write_text`, ...): an `OSError`.

    **Attributes:**

    - `filename`: the target (never the temporary file); it is unchanged.
    - `errno`, `strerror`: the cause, e.g. 28 and "No space left on device".

    Example:

    ```python
    try:
        cj.io.write_text("/proc/table.csv", "T,mean\\n")
    except cj.io.WriteError as e:
        print(e.filename, e.strerror)
    ```
    """


def _sync_dir(directory: Path) -> None:
    # The rename is durable only once the directory entry is on disk (POSIX only).
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _default_mode() -> int:
    # mkstemp makes 0600 files; give the new file the mode a plain open() would.
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


STALE_SECONDS = 3600.0
"""Age (since last modification) after which a leftover temporary file is stale."""

_HOST = hashlib.sha1(socket.gethostname().encode()).hexdigest()[:8]
_TMP_MIDDLE = re.compile(r"(?:(\d+)-([0-9a-f]{8})\.)?[a-z0-9_]{8}")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. another user's process: it exists
        return True
    return True


def _newest_mtime(path: Path) -> float:
    newest = path.lstat().st_mtime
    if path.is_dir() and not path.is_symlink():
        for root, dirs, files in os.walk(path):
            for name in dirs + files:
                with contextlib.suppress(OSError):
                    newest = max(newest, os.lstat(os.path.join(root, name)).st_mtime)
    return newest


def remove_stale_temporaries(path: str | os.PathLike) -> list[Path]:
    """Remove the temporary files that killed writers of `path` left beside it.

    An atomic write of `name` writes `.name.<pid>-<host>.<random>.tmp` first. One left
    behind (the writer was killed, or the machine went down) is stale, and removed,
    when its writer is gone: written on this host by a process id that is no longer
    running, or, whatever its host, not modified for `STALE_SECONDS` (an hour).
    Temporary files of a live writer on this host are never touched; a writer on
    another host (a shared file system) keeps its file while it writes. `atomic_path`
    calls this before every write.

    **Arguments:**

    - `path`: the target file (or Zarr store) whose leftovers are removed.

    **Returns:**

    The paths removed (a list, often empty). Errors (a directory that cannot be read,
    a file removed meanwhile) are ignored.

    Example:

    ```python
    cj.io.remove_stale_temporaries("run.nc")        # [] when nothing was left behind
    ```
    """
    target = Path(path)
    parent = target.parent if str(target.parent) else Path(".")
    prefix, suffix = f".{target.name}.", ".tmp"
    removed: list[Path] = []
    now = time.time()
    with contextlib.suppress(OSError):
        entries = [e.name for e in os.scandir(parent)]
        for name in entries:
            if not (name.startswith(prefix) and name.endswith(suffix)):
                continue
            match = _TMP_MIDDLE.fullmatch(name[len(prefix) : -len(suffix)])
            if match is None:
                continue
            pid, host = match.group(1), match.group(2)
            candidate = parent / name
            try:
                if pid is not None and host == _HOST:
                    stale = not _pid_alive(int(pid))
                else:
                    stale = now - _newest_mtime(candidate) > STALE_SECONDS
            except OSError:
                continue
            if stale:
                _remove(candidate)
                removed.append(candidate)
    return removed


def _write_target(path: str | os.PathLike) -> Path:
    """The file a write of `path` replaces: a symbolic link's target (the link is kept)."""
    target = Path(path)
    if target.is_symlink():
        return Path(os.path.realpath(target))
    return target


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, *, directory: bool = False) -> Iterator[Path]:
    """A temporary path beside `path`; on success it replaces `path` in one rename.

    Write the new content to the yielded path inside the `with` block. On a normal
    exit the temporary file is fsynced and renamed over `path` (`os.replace`); on any
    exception (KeyboardInterrupt included) it is removed and `path` is untouched. With
    `directory=True` the temporary path is a directory (for Zarr stores); an existing
    target directory is moved aside and removed only after the new one is in place.

    A `path` that is a symbolic link is written through: the file it points to is
    replaced (atomically, beside itself) and the link is kept. A replaced file keeps
    its permission bits (a new one gets those of `open()` under the umask). Stale
    temporary files of earlier, killed writes of the same `path` are removed first
    (`remove_stale_temporaries`).

    **Arguments:**

    - `path`: the file (or directory) to write.
    - `directory`: whether the temporary path is a directory, default False.

    **Returns:**

    A context manager yielding the temporary `Path`. Raises `cj.io.WriteError` (an
    `OSError` whose `filename` is `path`, not the temporary file) when the write fails,
    e.g. on a full disk or a directory that is not writable.

    Example:

    ```python
    with cj.io.atomic_path("table.csv") as tmp:
        tmp.write_text("T,mean\\n0.5,1.01\\n")
    ```
    """
    target = _write_target(_path_argument(path, "path"))
    parent = target.parent if str(target.parent) else Path(".")
    remove_stale_temporaries(target)
    prefix = f".{target.name}.{os.getpid()}-{_HOST}."
    try:
        if directory:
            tmp = Path(tempfile.mkdtemp(prefix=prefix, suffix=".tmp", dir=parent))
        else:
            fd, name = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=parent)
            os.close(fd)
            tmp = Path(name)
    except OSError as e:
        raise _write_error(e, path) from e
    try:
        yield tmp
        if not directory:
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
            try:
                mode = stat.S_IMODE(target.stat().st_mode)
            except FileNotFoundError:
                mode = _default_mode()
            os.chmod(tmp, mode)
            os.replace(tmp, target)
        else:
            old = None
            if target.exists():
                old = parent / f".{target.name}.old-{os.getpid()}"
                _remove(old)
                os.replace(target, old)
            os.replace(tmp, target)
            if old is not None:
                _remove(old)
        _sync_dir(parent)
    except OSError as e:
        _remove(tmp)
        raise _write_error(e, path) from e
    except BaseException:
        _remove(tmp)
        raise


def _write_error(e: OSError, path: str | os.PathLike) -> WriteError:
    # Name the target, not the temporary file: that is what the caller asked for.
    if isinstance(e, WriteError):
        return e
    cause = e.strerror or (os.strerror(e.errno) if e.errno else str(e).split("\n")[0])
    return WriteError(e.errno, cause, str(path))


def ensure_writable_dir(directory: str | os.PathLike) -> Path:
    """Create a directory (and its parents) and check that a file can be written in it.

    **Arguments:**

    - `directory`: the directory.

    **Returns:**

    The directory as a `Path`. Raises `OSError` (from the filesystem) when it cannot be
    created or written.

    Example:

    ```python
    out = cj.io.ensure_writable_dir("results")
    ```
    """
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    probe = path / f".chaosjax-write-test-{os.getpid()}"
    probe.write_bytes(b"")
    probe.unlink()
    return path


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write text (UTF-8) to a file atomically.

    **Arguments:**

    - `path`: the file; `text`: its new content.

    **Returns:**

    The path as a `Path`.

    Example:

    ```python
    cj.io.write_text("notes.txt", "rho = 28\\n")
    ```
    """
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, Path):
        return str(obj)
    # NumPy scalars, NumPy and JAX arrays, anything NumPy can read as numbers or text;
    # everything else arrives as a 0-d object array.
    arr = np.asarray(obj)
    if arr.dtype.kind in "biufU":
        return arr.tolist()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Write an object as indented JSON to a file atomically.

    **Arguments:**

    - `path`: the file.
    - `obj`: JSON-serialisable data; NumPy and JAX arrays and scalars become lists and
      numbers, paths strings.

    **Returns:**

    The path as a `Path`.

    Example:

    ```python
    cj.io.write_json("spectrum.json", {"exponents": jnp.array([0.42, -1.62])})
    ```
    """
    return write_text(path, json.dumps(obj, indent=2, default=_json_default) + "\n")


def save_figure(fig: Any, path: str | os.PathLike, *, dpi: int = 110) -> Path:
    """Save a matplotlib figure atomically, then close it.

    **Arguments:**

    - `fig`: a `matplotlib.figure.Figure`, or an Axes or SubFigure (its whole figure
      is saved).
    - `path`: the file; the format follows its suffix (default PNG).
    - `dpi`: the resolution, default 110.

    **Returns:**

    The path as a `Path`.

    Example:

    ```python
    import chaosjax.plot as cjp
    cj.io.save_figure(cjp.lyapunov_spectrum_bars(jnp.array([0.42, -1.62])), "bars.png")
    ```
    """
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    while not isinstance(fig, Figure) and hasattr(fig, "figure"):
        fig = fig.figure
    target = Path(path)
    try:
        with atomic_path(target) as tmp:
            fig.savefig(tmp, format=target.suffix.lstrip(".") or "png", dpi=dpi)
    finally:
        plt.close(fig)
    return target


# --------------------------------------------------------------------------- NetCDF / Zarr


def _format_of(path: Path, format: str | None) -> str:
    if format is not None:
        if format not in ("netcdf", "zarr"):
            raise ValueError(f"`format` must be 'netcdf' or 'zarr', got {format!r}.")
        return format
    suffix = path.suffix.lower()
    if suffix == ".zarr":
        return "zarr"
    if suffix in (".nc", ".nc4", ".netcdf", ".h5", ".cdf"):
        return "netcdf"
    raise ValueError(f"`path` must end in .nc (NetCDF) or .zarr (Zarr), got {str(path)!r}.")


def _clean_attr(value: Any) -> Any:
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    if isinstance(value, (str, int, float, np.integer, np.floating)):
        return value
    if (
        isinstance(value, (list, tuple))
        and all(
            isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
            for v in value
        )
        and value
    ):
        return np.asarray(value)
    if isinstance(value, np.ndarray) and value.dtype.kind in "iuf":
        return value
    return json.dumps(value, default=_json_default)


def _netcdf_safe(ds: xr.Dataset) -> xr.Dataset:
    """NetCDF attributes are strings, numbers or 1-D numeric arrays: convert the rest."""
    ds = ds.copy()
    ds.attrs = {k: _clean_attr(v) for k, v in ds.attrs.items() if v is not None}
    for name in ds.variables:
        ds[name].attrs = {k: _clean_attr(v) for k, v in ds[name].attrs.items() if v is not None}
    return ds


def save(
    ds: xr.Dataset | xr.DataTree, path: str | os.PathLike, *, format: str | None = None
) -> Path:
    """Write a dataset atomically: NetCDF-4 via h5netcdf (`.nc`) or Zarr (`.zarr`).

    Attribute values that NetCDF cannot hold (dicts, None, booleans) are stored as
    JSON strings or integers. An `xarray.DataTree` is written with one NetCDF group
    per node (read it back with `load_tree`, or one group with `load(path, group=...)`).

    **Arguments:**

    - `ds`: an `xarray.Dataset`, or an `xarray.DataTree` of them.
    - `path`: the target; its suffix chooses the format.
    - `format`: "netcdf" or "zarr" to override the suffix.

    **Returns:**

    The path as a `Path`. Raises `ValueError` for an unknown suffix or when Zarr is
    requested but not installed, and `OSError` when the directory is not writable.

    Example:

    ```python
    hen = cj.systems.Henon()
    xs = cj.trajectory(hen, hen.default_state(), steps=1_000)
    cj.io.save(cj.io.trajectory_dataset(hen, xs, dt=None), "henon.nc")
    ```
    """
    if isinstance(ds, xr.DataTree):
        return _save_tree(ds, path, format)
    if not isinstance(ds, xr.Dataset):
        raise ValueError(f"`ds` must be an xarray.Dataset or DataTree, got {type(ds).__name__}.")
    target = _path_argument(path, "path")
    fmt = _format_of(target, format)
    ds = _netcdf_safe(ds)
    if fmt == "zarr":
        if not zarr_available():
            raise ValueError(
                f"Cannot write {str(target)!r}: Zarr output needs the optional `zarr` "
                "package (pip install 'chaosjax[zarr]'); use a .nc path for NetCDF."
            )
        # Fixed-width strings have no Zarr v3 specification; variable-length ones do.
        for name in list(ds.variables):
            if ds[name].dtype.kind == "U":
                ds[name] = ds[name].astype(object)
        with atomic_path(target, directory=True) as tmp:
            ds.to_zarr(tmp, mode="w", consolidated=False)
        return target
    with atomic_path(target) as tmp:
        if ds.nbytes <= _IN_MEMORY_BYTES:
            # Serialised in memory, then written by Python: a full disk or a file-size
            # limit is a plain OSError. (HDF5 writing to a full disk itself leaves a
            # half-closed file that crashes the interpreter at exit.)
            data = ds.to_netcdf(None, engine="h5netcdf", invalid_netcdf=False)
            with open(tmp, "wb") as f:
                f.write(data)
        else:
            _check_free_space(tmp, ds.nbytes)
            ds.to_netcdf(tmp, engine="h5netcdf", invalid_netcdf=False)
    return target


_IN_MEMORY_BYTES = 1 << 30  # datasets up to 1 GiB are serialised in memory first


def _save_tree(tree: xr.DataTree, path: str | os.PathLike, format: str | None) -> Path:
    """`save` for a DataTree: every node made NetCDF-safe, one group per node."""
    target = _path_argument(path, "path")
    fmt = _format_of(target, format)
    nodes = {}
    for node in tree.subtree:
        ds = _netcdf_safe(node.to_dataset(inherit=False))
        if fmt == "zarr":
            for name in list(ds.variables):
                if ds[name].dtype.kind == "U":
                    ds[name] = ds[name].astype(object)
        nodes[node.path] = ds
    safe = xr.DataTree.from_dict(nodes)
    if fmt == "zarr":
        if not zarr_available():
            raise ValueError(
                f"Cannot write {str(target)!r}: Zarr output needs the optional `zarr` "
                "package (pip install 'chaosjax[zarr]'); use a .nc path for NetCDF."
            )
        with atomic_path(target, directory=True) as tmp:
            safe.to_zarr(tmp, mode="w", consolidated=False)
        return target
    nbytes = sum(ds.nbytes for ds in nodes.values())
    with atomic_path(target) as tmp:
        if nbytes <= _IN_MEMORY_BYTES:
            data = safe.to_netcdf(None, engine="h5netcdf", invalid_netcdf=False)
            with open(tmp, "wb") as f:
                f.write(bytes(data))  # pyright: ignore[reportArgumentType]
        else:
            _check_free_space(tmp, nbytes)
            safe.to_netcdf(tmp, engine="h5netcdf", invalid_netcdf=False)
    return target


def _check_free_space(tmp: Path, nbytes: int) -> None:
    """Raise OSError (ENOSPC/EFBIG) when `nbytes` plainly cannot be written beside `tmp`."""
    import errno
    import resource

    need = nbytes + (1 << 20)  # the data and a generous allowance for HDF5 metadata
    with contextlib.suppress(OSError):
        st = os.statvfs(tmp.parent)
        if st.f_bavail * st.f_frsize < need:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(tmp))
    limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
    if limit != resource.RLIM_INFINITY and limit < need:
        raise OSError(errno.EFBIG, os.strerror(errno.EFBIG), str(tmp))


def load(path: str | os.PathLike, *, group: str | None = None) -> xr.Dataset:
    """Read a dataset written by `save` (NetCDF or Zarr) fully into memory.

    The file is closed on return, so it can be replaced or deleted afterwards.

    **Arguments:**

    - `path`: a `.nc` file or a `.zarr` store.
    - `group`: the NetCDF group to read (e.g. "lyapunov" of a report's results.nc);
      default the root. `load_tree` reads every group at once.

    **Returns:**

    An `xarray.Dataset`. Raises `FileNotFoundError` when `path` does not exist, and
    `ValueError` naming the file when it is empty, truncated or not NetCDF/Zarr.

    Example:

    ```python
    hen = cj.systems.Henon()
    xs = cj.trajectory(hen, hen.default_state(), steps=1_000)
    cj.io.save(cj.io.trajectory_dataset(hen, xs, dt=None), "henon.nc")
    ds = cj.io.load("henon.nc")
    ```
    """
    target = _existing(path)
    if group is not None and not isinstance(group, str):
        raise ValueError(f"`group` must be a group name (str) or None, got {group!r}.")
    if group is not None:
        groups = _group_names(target)
        if group.strip("/") not in groups:
            from ._validate import unknown_name

            raise unknown_name(group, groups, f"Group of {str(target)!r}:")
    if _format_of(target, None) == "zarr" or target.is_dir():
        try:
            return xr.open_zarr(target, consolidated=False, group=group).load()
        except (OSError, ValueError, KeyError) as e:
            raise ValueError(f"{str(target)!r} is not a readable Zarr store: {e}") from e
    try:
        return xr.load_dataset(target, engine="h5netcdf", group=group)
    except (OSError, ValueError) as e:
        raise _netcdf_error(target, e) from e


def load_tree(path: str | os.PathLike) -> xr.DataTree:
    """Read every group of a file written by `save` into an `xarray.DataTree` in memory.

    **Arguments:**

    - `path`: a `.nc` file or a `.zarr` store (a report's results.nc, for instance).

    **Returns:**

    An `xarray.DataTree`: the root dataset with one child per group
    (`tree["lyapunov"].ds`). Errors as for `load`.

    Example:

    ```python
    tree = cj.io.load_tree("out/results.nc")
    tree["lyapunov"]["lyapunov_exponents"].values
    ```
    """
    target = _existing(path)
    if _format_of(target, None) == "zarr" or target.is_dir():
        try:
            with xr.open_datatree(target, engine="zarr", consolidated=False) as tree:
                return tree.load().copy()
        except (OSError, ValueError, KeyError) as e:
            raise ValueError(f"{str(target)!r} is not a readable Zarr store: {e}") from e
    try:
        return xr.load_datatree(target, engine="h5netcdf")
    except (OSError, ValueError) as e:
        raise _netcdf_error(target, e) from e


def _existing(path: object) -> Path:
    target = _path_argument(path, "path")
    if not target.exists():
        raise FileNotFoundError(f"No such file or store: {str(target)!r}.")
    if target.is_file() and target.stat().st_size == 0:
        raise ValueError(f"{str(target)!r} is empty, not a NetCDF file.")
    return target


def _group_names(target: Path) -> list[str]:
    """The groups below the root of a file `save` wrote (paths without the leading /)."""
    try:
        return [p.strip("/") for p in load_tree(target).groups if p != "/"]
    except ValueError:
        return []


def _netcdf_error(target: Path, e: Exception) -> ValueError:
    cause = str(e).split("\n")[0]
    if "signature not found" in cause:
        cause = "not a NetCDF-4/HDF5 file"
    elif "truncated" in cause:
        cause = "truncated (shorter than its header says; an interrupted copy?)"
    return ValueError(f"{str(target)!r} cannot be read as NetCDF: {cause}.")


def _path_argument(path: object, name: str) -> Path:
    """`path` (a str or os.PathLike) as a Path; else a ValueError naming `name`."""
    if not isinstance(path, (str, os.PathLike)) or str(path) == "":
        raise ValueError(f"`{name}` must be a file path (str or pathlib.Path), got {path!r}.")
    return Path(path)
