"""Result records that show their numbers: `repr`, a notebook table and an xarray Dataset.

Every public result record (what `lyapunov_spectrum`, `orbit_diagram`, `classify`,
`shadowing_sensitivity`, the metrics and the learners return) subclasses `Result`, an
`equinox.Module` without fields. It adds

- `repr`/`str` with the values: numbers at 4 decimals, arrays through
  `numpy.array2string` (elided past 24 elements, the shape and dtype shown), static
  fields as given. Inside `jax.jit`/`vmap`, where the leaves are tracers, equinox's
  own summary (`f64[3]`) is printed instead. Precision and elision follow numpy's
  print options when they differ from numpy's defaults
  (`with np.printoptions(precision=8, threshold=10**6): print(res)`).
- `_repr_html_`, the same as an HTML table (Jupyter renders it).
- `to_xarray()`, an `xarray.Dataset` with one variable per array field (named dims
  where the record declares them; `<field>_dim0`, `<field>_dim1`, ... otherwise; extra
  leading batch axes named `batch`, `batch_1`, ...) and the scalar static fields as
  attributes.

Field names, the pytree and every numerical behaviour are those of the record.
"""

from __future__ import annotations

import dataclasses
import html
from typing import TYPE_CHECKING, Any, ClassVar

import equinox as eqx
import jax
import numpy as np
from jax.core import Tracer

if TYPE_CHECKING:
    import xarray as xr

_PRECISION = 4
_THRESHOLD = 24
_NUMPY_DEFAULTS = {"precision": 8, "threshold": 1000}

# A dims entry: names for each axis; `...` stands for axes named generically.
Dims = tuple[Any, ...]


def _print_options() -> dict[str, Any]:
    """numpy's print options, with this module's precision and threshold where numpy's
    are still at their defaults."""
    opts = np.get_printoptions()
    out = {"precision": opts["precision"], "threshold": opts["threshold"]}
    if opts["precision"] == _NUMPY_DEFAULTS["precision"]:
        out["precision"] = _PRECISION
    if opts["threshold"] == _NUMPY_DEFAULTS["threshold"]:
        out["threshold"] = _THRESHOLD
    return out


def _is_array(x: Any) -> bool:
    return isinstance(x, (jax.Array, np.ndarray, np.generic))


def _dtype_name(a: np.ndarray) -> str:
    if a.dtype == np.bool_:
        return "bool"
    kind = {"f": "f", "i": "i", "u": "u", "c": "c"}.get(a.dtype.kind, a.dtype.kind)
    return f"{kind}{a.dtype.itemsize * 8}"


def _format_array(x: Any, prefix: str, opts: dict[str, Any]) -> str:
    a = np.asarray(x)
    if a.ndim == 0:
        return np.array2string(a, precision=opts["precision"])
    edgeitems = np.get_printoptions()["edgeitems"]
    if a.ndim >= 3 and edgeitems == 3:
        edgeitems = 1  # numpy's default, 3 per axis, prints 27 blocks of a 3-D array
    text = np.array2string(
        a,
        precision=opts["precision"],
        threshold=opts["threshold"],
        edgeitems=edgeitems,
        separator=", ",
        prefix=prefix,
    )
    if a.size > opts["threshold"]:
        head = f"{_dtype_name(a)}{list(a.shape)} "
        # The array's continuation lines were aligned for `prefix`; shift them too.
        text = head + text.replace("\n", "\n" + " " * len(head))
    return "\n".join(line.rstrip() for line in text.split("\n"))


def _indent(text: str, by: str) -> str:
    return text.replace("\n", "\n" + by)


def _format_value(x: Any, prefix: str, opts: dict[str, Any], indent: str = "") -> str:
    if isinstance(x, Result):
        return x._format(opts, indent=indent)
    if _is_array(x):
        return _format_array(x, prefix, opts)
    if isinstance(x, eqx.Module):
        return _indent(eqx.tree_pformat(x, short_arrays=True), indent)
    if isinstance(x, float):
        return f"{x:.{max(opts['precision'], 1) + 2}g}"
    return repr(x)


def _has_tracer(tree: Any) -> bool:
    return any(isinstance(leaf, Tracer) for leaf in jax.tree_util.tree_leaves(tree))


def _attr_value(x: Any) -> Any:
    """A static field as a netCDF-friendly attribute, or None to leave it out."""
    if isinstance(x, bool | np.bool_):
        return int(x)
    if isinstance(x, int | float | str | np.integer | np.floating):
        return x
    if isinstance(x, tuple | list) and all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in x
    ):
        return np.asarray(x)
    return None


def _axis_names(field: str, ndim: int, spec: Dims | None) -> tuple[str, ...]:
    """Names for the `ndim` axes of `field` from its declared `spec`."""
    generic = [f"{field}_dim{i}" for i in range(ndim)]
    if spec is None:
        return tuple(generic)
    if Ellipsis in spec:
        i = spec.index(Ellipsis)
        head, tail = list(spec[:i]), list(spec[i + 1 :])
        if len(head) + len(tail) > ndim:
            return tuple(generic)
        middle = [f"{field}_dim{j}" for j in range(len(head), ndim - len(tail))]
        return tuple(head + middle + tail)
    if len(spec) > ndim:
        return tuple(generic)
    extra = ndim - len(spec)
    batch = ["batch" if j == 0 else f"batch_{j}" for j in range(extra)]
    return tuple(batch + list(spec))


class Result(eqx.Module):
    """Base of the result records: `repr` with the values, `_repr_html_`, `to_xarray`.

    A subclass may set `_xarray_dims`, a mapping from field to the names of its axes
    (trailing axes; `...` for generically named ones), to give its Dataset named
    dimensions.
    """

    _xarray_dims: ClassVar[dict[str, Dims]] = {}

    def _items(self) -> list[tuple[str, Any]]:
        """(name, value) of each field as printed and exported: a hook for a record that
        stores a field in another form (e.g. None for values it makes on access)."""
        return [(f.name, getattr(self, f.name)) for f in dataclasses.fields(self)]

    # ------------------------------------------------------------------ printing

    def _format(self, opts: dict[str, Any], indent: str = "") -> str:
        inner = indent + "  "
        lines = [f"{type(self).__name__}("]
        for field, value in self._items():
            prefix = f"{inner}{field}="
            text = _format_value(value, prefix, opts, inner)
            lines.append(f"{prefix}{text},")
        lines.append(f"{indent})")
        return "\n".join(lines)

    def __repr__(self) -> str:
        if _has_tracer(self):
            return eqx.tree_pformat(self)
        return self._format(_print_options())

    def __str__(self) -> str:
        return self.__repr__()

    def _repr_html_(self) -> str:
        """An HTML table of the fields and their values (for Jupyter)."""
        if _has_tracer(self):
            return f"<pre>{html.escape(eqx.tree_pformat(self))}</pre>"
        opts = _print_options()
        rows = []
        for field, value in self._items():
            if _is_array(value) and np.ndim(value) > 0:
                shape = f"{_dtype_name(np.asarray(value))}{list(np.shape(value))}"
            else:
                shape = ""
            text = _format_value(value, "", opts)
            rows.append(
                f"<tr><th style='text-align:left'>{html.escape(field)}</th>"
                f"<td style='text-align:left'>{html.escape(shape)}</td>"
                f"<td style='text-align:left'><pre style='margin:0'>{html.escape(text)}"
                "</pre></td></tr>"
            )
        return (
            f"<table><caption style='text-align:left'><b>{html.escape(type(self).__name__)}"
            "</b></caption><tr><th>field</th><th>shape</th><th>value</th></tr>"
            + "".join(rows)
            + "</table>"
        )

    # ------------------------------------------------------------------ xarray

    def _xarray_items(
        self, prefix: str = ""
    ) -> tuple[list[tuple[str, np.ndarray, Dims | None]], dict]:
        """(name, array, declared dims) per array field, nested records flattened with
        `<field>_` prefixes, and the attributes."""
        arrays: list[tuple[str, np.ndarray, Dims | None]] = []
        attrs: dict[str, Any] = {}
        dims = self._xarray_dims_of()
        for field, value in self._items():
            name = prefix + field
            if isinstance(value, Result):
                sub_arrays, sub_attrs = value._xarray_items(prefix=name + "_")
                arrays += sub_arrays
                attrs.update(sub_attrs)
            elif _is_array(value):
                arrays.append((name, np.asarray(value), dims.get(field)))
            else:
                attr = _attr_value(value)
                if attr is not None:
                    attrs[name] = attr
        return arrays, attrs

    def _xarray_dims_of(self) -> dict[str, Dims]:
        """The named axes of each field (a hook for records whose names depend on values)."""
        return self._xarray_dims

    def to_xarray(self) -> xr.Dataset:
        """The record as an `xarray.Dataset`: one variable per array field (nested
        records' fields as `<field>_<subfield>`), named dimensions where the record
        declares them and `<field>_dim0`, ... otherwise, the scalar static fields as
        attributes.

        **Returns:**

        An `xarray.Dataset`; `ds[name].values` equals `numpy.asarray(getattr(res, name))`.

        Example:

        ```python
        res = cj.lyapunov_spectrum(cj.systems.Henon(), jnp.zeros(2), steps=10_000)
        res.to_xarray()["exponents"]    # dims ("exponent",)
        ```
        """
        import xarray as xr

        if _has_tracer(self):
            raise TypeError(
                f"{type(self).__name__}.to_xarray() needs concrete values: call it outside "
                "jax.jit / jax.vmap"
            )
        arrays, attrs = self._xarray_items()
        sizes: dict[str, int] = {}
        variables = {}
        for name, a, spec in arrays:
            names = _axis_names(name, a.ndim, spec)
            if any(sizes.get(d, n) != n for d, n in zip(names, a.shape, strict=True)):
                names = _axis_names(name, a.ndim, None)
            sizes.update(zip(names, a.shape, strict=True))
            variables[name] = (names, a)
        ds = xr.Dataset(variables, attrs={"record": type(self).__name__, **attrs})
        return self._xarray_finish(ds)

    def _xarray_finish(self, ds: xr.Dataset) -> xr.Dataset:
        """A hook to add coordinates to the Dataset."""
        return ds
