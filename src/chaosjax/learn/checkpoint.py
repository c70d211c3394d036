"""Model files and training checkpoints: a JSON header, then the leaves (no pickle).

File layout: the magic line `CHAOSJAX-CHECKPOINT 1`, an 8-byte little-endian header
length, the UTF-8 JSON header, then the array leaves of a pytree in order as written
by `eqx.tree_serialise_leaves` (NumPy `.npy` records). The header says what the
leaves are: the model's class (`module.QualName`), how to rebuild it, the shape and
dtype of every leaf, and the chaosjax version, so that a file is checked against what
it will be read into before anything is overwritten. Files are written atomically
through `cj.io.atomic_path` (a temporary file, fsync, then one rename), so a run killed
while writing leaves the previous checkpoint whole.

`save(model, path)` and `load(path)` handle fitted models (any equinox Module; a
chaosjax system in particular). `load` rebuilds a chaosjax class from the header
without a template: each Module in the tree is called with its static fields,
its JSON-representable fields, its sub-Modules (rebuilt the same way) and zero
arrays of the stored shapes as keywords, and the stored leaves then replace the
arrays. A fitted RBF support-vector regression (scikit-learn's, in `SVRMap`) is stored
as its expansion (`cj.learn.RBFExpansion`: arrays in the JSON header). Classes that
cannot be built that way, and every class outside chaosjax, need `like=`: a Module of
the same structure whose leaves are replaced.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import os
from pathlib import Path
from typing import Any, BinaryIO

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._files import atomic_path

__all__ = ["load", "read_header", "save", "write"]

MAGIC = b"CHAOSJAX-CHECKPOINT 1\n"
_ALLOWED_PREFIX = "chaosjax."


def _version() -> str:
    from .._version import __version__

    return __version__


def class_path(obj: object) -> str:
    """`module.QualName` of the class of `obj`."""
    return f"{type(obj).__module__}.{type(obj).__qualname__}"


def leaf_signature(tree: Any) -> list[list[Any]]:
    """[shape, dtype] of every leaf that `eqx.tree_serialise_leaves` writes, in order."""
    out: list[list[Any]] = []
    for leaf in jax.tree.leaves(tree):
        if isinstance(leaf, (jax.Array, np.ndarray, np.generic)):
            out.append([list(leaf.shape), str(leaf.dtype)])
        elif isinstance(leaf, (bool, int, float, complex)):
            out.append([[], type(leaf).__name__])
    return out


# --------------------------------------------------------------------------- file format


def write(path: str | os.PathLike, header: dict[str, Any], tree: Any) -> Path:
    """Write `header` and the leaves of `tree` to `path` atomically. Returns the path."""
    header = {"chaosjax_version": _version(), **header, "leaves": leaf_signature(tree)}
    blob = json.dumps(header).encode("utf-8")
    target = Path(path)
    with atomic_path(target) as tmp, open(tmp, "wb") as f:
        f.write(MAGIC)
        f.write(len(blob).to_bytes(8, "little"))
        f.write(blob)
        eqx.tree_serialise_leaves(f, tree)
    return target


def _open_header(f: BinaryIO, path: Path, name: str) -> dict[str, Any]:
    if f.read(len(MAGIC)) != MAGIC:
        raise ValueError(f"`{name}` {str(path)!r} is not a chaosjax model or checkpoint file.")
    size = int.from_bytes(f.read(8), "little")
    try:
        return json.loads(f.read(size).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ValueError(f"`{name}` {str(path)!r} has a damaged header.") from None


def read_header(path: str | os.PathLike, *, name: str = "path") -> dict[str, Any]:
    """The JSON header of a file written by `write`; `ValueError` naming `name` if not one."""
    target = Path(path)
    if not target.is_file():
        raise FileNotFoundError(f"No such file: {str(target)!r}.")
    with open(target, "rb") as f:
        return _open_header(f, target, name)


def read_tree(path: str | os.PathLike, like: Any, *, name: str = "path") -> Any:
    """The leaves stored in `path`, put into the structure of `like`.

    Raises `ValueError` naming `name` when the stored leaves' shapes or dtypes differ
    from those of `like`.
    """
    target = Path(path)
    with open(target, "rb") as f:
        header = _open_header(f, target, name)
        expected = leaf_signature(like)
        if header.get("leaves") != expected:
            raise ValueError(
                f"`{name}` {str(target)!r} holds {len(header.get('leaves', []))} leaves "
                f"that do not match the {len(expected)} expected (shapes/dtypes differ): "
                "it was written for a different model or configuration."
            )
        return eqx.tree_deserialise_leaves(f, like)


# --------------------------------------------------------------------------- models


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


def _spec(obj: Any) -> dict[str, Any] | None:
    """How to rebuild `obj`: class path and constructor keywords; None if impossible."""
    if isinstance(obj, (jax.Array, np.ndarray)):
        return {"array": [list(obj.shape), str(obj.dtype)]}
    if isinstance(obj, eqx.Module):
        path = class_path(obj)
        if not path.startswith(_ALLOWED_PREFIX):
            return None
        fields: dict[str, Any] = {}
        for f in dataclasses.fields(obj):
            if not f.init:
                continue
            value = getattr(obj, f.name)
            if _is_rbf_svr(value):
                # A fitted RBF SVR (scikit-learn) is stored as its expansion: JSON arrays.
                from .svr import RBFExpansion

                fields[f.name] = {"rbf_expansion": RBFExpansion.from_estimator(value).to_json()}
                continue
            sub = None if isinstance(value, (bool, int, float, str)) else _spec(value)
            if sub is not None:
                fields[f.name] = sub
            elif _jsonable(value):
                fields[f.name] = {"value": value}
            else:
                return None
        return {"class": path, "fields": fields}
    if isinstance(obj, (list, tuple)):
        items = [_spec(x) if not _jsonable(x) else {"value": x} for x in obj]
        if any(i is None for i in items):
            return None
        return {"sequence": "tuple" if isinstance(obj, tuple) else "list", "items": items}
    if obj is None or _jsonable(obj):
        return {"value": obj}
    return None


def _is_rbf_svr(value: Any) -> bool:
    """A fitted scikit-learn RBF SVR, or chaosjax's `RBFExpansion` of one."""
    cls = type(value)
    if cls.__module__ == "chaosjax.learn.svr" and cls.__name__ == "RBFExpansion":
        return True
    return (
        cls.__module__.startswith("sklearn.")
        and getattr(value, "kernel", None) == "rbf"
        and hasattr(value, "dual_coef_")
    )


def _rebuild(spec: dict[str, Any]) -> Any:
    if "rbf_expansion" in spec:
        from .svr import RBFExpansion

        return RBFExpansion(**spec["rbf_expansion"])
    if "array" in spec:
        shape, dtype = spec["array"]
        return jnp.zeros(shape, dtype)
    if "value" in spec:
        value = spec["value"]
        return tuple(value) if isinstance(value, list) else value
    if "sequence" in spec:
        items = [_rebuild(s) for s in spec["items"]]
        return tuple(items) if spec["sequence"] == "tuple" else items
    path = spec["class"]
    if not path.startswith(_ALLOWED_PREFIX):
        raise ValueError(f"class {path!r} is not a chaosjax class")
    module, _, qualname = path.rpartition(".")
    obj: Any = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj(**{k: _rebuild(s) for k, s in spec["fields"].items()})


def save(model: eqx.Module, path: str | os.PathLike) -> Path:
    """Write a (fitted) model to `path` atomically: a JSON header, then its leaves.

    The header records the model's class, how to rebuild it (its fields: static
    values, sub-Modules, array shapes), the shape and dtype of every leaf and the
    chaosjax version. No pickle: only arrays and JSON are stored.

    **Arguments:**

    - `model`: an equinox Module, e.g. a `cj.Map` or `cj.Flow` returned by a fit.
    - `path`: the file to write (suffix free; ".eqx" is customary).

    **Returns:**

    The path written.

    Example:

    ```python
    cj.learn.save(cj.systems.Henon(a=1.3), "henon.eqx")
    cj.learn.load("henon.eqx").a        # 1.3
    ```
    """
    if not isinstance(model, eqx.Module):
        raise ValueError(f"`model` must be an equinox Module, got {type(model).__name__}.")
    header = {
        "kind": "model",
        "class": class_path(model),
        "spec": _spec(model),
    }
    return write(path, header, model)


def load(path: str | os.PathLike, *, like: eqx.Module | None = None) -> Any:
    """Read a model written by `save`.

    The header is read and checked first (a training checkpoint, or a file of another
    class than `like`, is a `ValueError` naming the argument), then the leaves. Without
    `like`, a chaosjax class is rebuilt from the header (see the module docstring);
    with `like`, its array leaves are replaced by the stored ones after the header's
    class, shapes and dtypes have been checked against it.

    **Arguments:**

    - `path`: a file written by `cj.learn.save`.
    - `like`: a template Module of the same class and leaf shapes (default None); needed
      for classes outside chaosjax.

    **Returns:**

    The model.

    Example:

    ```python
    cj.learn.save(cj.systems.Henon(a=1.3), "henon.eqx")
    model = cj.learn.load("henon.eqx")
    cj.lyapunov_spectrum(model, model.default_state(), steps=10_000).exponents
    ```
    """
    header = read_header(path, name="path")
    given = like is not None
    if header.get("kind") != "model":
        raise ValueError(
            f"`path` {str(path)!r} is a {header.get('kind')!r} file, not a saved model; "
            "a training checkpoint is resumed by cj.learn.fit(..., checkpoint=path)."
        )
    if like is None:
        spec = header.get("spec")
        if spec is None:
            raise ValueError(
                f"`path` {str(path)!r} holds a {header['class']} that cannot be rebuilt "
                "from its header; pass `like=` a model of the same structure."
            )
        try:
            like = _rebuild(spec)
        except (TypeError, ValueError, AttributeError, ImportError) as err:
            raise ValueError(
                f"`path` {str(path)!r}: cannot rebuild {header['class']} ({err}); pass "
                "`like=` a model of the same structure."
            ) from None
    elif class_path(like) != header["class"]:
        raise ValueError(
            f"`like` is a {class_path(like)} but `path` {str(path)!r} holds a {header['class']}."
        )
    return read_tree(path, like, name="like" if given else "path")
