"""The end-to-end report: one directory with `index.html`, PNG figures beside it,
`results.json` and `results.nc` holding every number shown, and `config.toml`, the
resolved configuration (run it again with `chaosjax report --config config.toml`).

Sections: the system and its parameters; the attractor (phase portrait, time
series); time averages with their ensemble spread (cumulative-average band, seed
000); the Lyapunov spectrum with its convergence and the Kaplan-Yorke dimension;
sensitivities (the gradient blow-up table next to the shadowing derivative); the
orbit diagram over the main parameter; timings and software versions. A section
whose capability is not in this build of chaosjax is left out with a line that
says so. The outputs are rewritten after every section, so an interrupted run
leaves a consistent report of the sections that finished.

```python
from chaosjax.report import ReportConfig, run_report
summary = run_report(ReportConfig(system="lorenz63", out="out"))
```
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import html
import importlib.util
import inspect
import json
import math
import os
import platform
import sys
import time
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from . import io as cjio
from ._validate import unknown_name

SECTIONS: tuple[str, ...] = (
    "system", "attractor", "averages", "lyapunov", "sensitivity", "bifurcation", "timings",
)  # fmt: skip

SECTION_TITLES = {
    "system": "The system",
    "attractor": "The attractor",
    "averages": "Time averages and their ensemble spread",
    "lyapunov": "Lyapunov spectrum",
    "sensitivity": "Sensitivity of a time average to a parameter",
    "bifurcation": "Orbit diagram",
    "timings": "Timings and software",
}

#: The parameter a report sweeps and differentiates by default ("main parameter").
MAIN_PARAMETER = {
    "lorenz63": "rho", "rossler": "c", "lorenz96": "F", "chen": "c", "chua": "alpha",
    "thomas": "b", "halvorsen": "a", "sprott_b": "a", "duffing": "gamma",
    "logistic": "r", "tent": "mu", "henon": "a", "lozi": "a", "tinkerbell": "a",
    "delayed_logistic": "a", "burgers": "a", "ikeda": "u", "delayed_henon": "a",
    "smoothed_sigmoid": "a", "standard_map": "K",
}  # fmt: skip

#: Default sweeps of the orbit diagram: (start, stop) of the main parameter.
MAIN_RANGE = {
    "logistic": (2.5, 4.0), "henon": (1.0, 1.4), "tent": (1.0, 2.0), "lozi": (1.0, 1.8),
    "delayed_logistic": (1.9, 2.27), "ikeda": (0.5, 0.9), "standard_map": (0.5, 2.0),
    "lorenz63": (25.0, 250.0), "rossler": (2.5, 6.5),
}  # fmt: skip


class ReportError(ValueError):
    """A user error in the report's configuration (message meant for the user)."""


# --------------------------------------------------------------------------- configuration


@dataclasses.dataclass
class ReportConfig:
    """Every option of the report; `None` means "the default for this system".

    Steps count iterations of the one-step map (`dt` time units each for a flow).
    `resolve()` fills the defaults and returns the configuration the report records.
    """

    system: str = "lorenz63"
    system_file: str | None = None
    parameters: dict[str, Any] = dataclasses.field(default_factory=dict)
    out: str = "out"
    seed: int = 0
    solver: str = "rk4"
    dt: float | None = None
    transient: int | None = None
    trajectory_steps: int | None = None
    save_every: int | None = None
    members: int | None = None
    average_steps: int | None = None
    observables: int | None = None
    lyapunov_steps: int | None = None
    lyapunov_transient: int | None = None
    sensitivity_parameter: str | None = None
    sensitivity_observable: int | None = None
    horizons: list[float] | None = None
    sensitivity_members: int | None = None
    shadowing_steps: int | None = None
    shadowing_segments: int | None = None
    bifurcation_parameter: str | None = None
    bifurcation_range: str | None = None
    bifurcation_transient: int | None = None
    bifurcation_keep: int | None = None
    sections: list[str] | None = None
    quick: bool = False

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


_INT_FIELDS = {
    "seed", "transient", "trajectory_steps", "save_every", "members", "average_steps",
    "observables", "lyapunov_steps", "lyapunov_transient", "sensitivity_observable",
    "sensitivity_members", "shadowing_steps", "shadowing_segments",
    "bifurcation_transient", "bifurcation_keep",
}  # fmt: skip
_POSITIVE = _INT_FIELDS - {
    "seed",
    "transient",
    "lyapunov_transient",
    "sensitivity_observable",
    "bifurcation_transient",
}
_STR_FIELDS = {
    "system",
    "system_file",
    "out",
    "solver",
    "sensitivity_parameter",
    "bifurcation_parameter",
    "bifurcation_range",
}


def config_keys() -> list[str]:
    return [f.name for f in dataclasses.fields(ReportConfig)]


def _check_value(key: str, value: Any) -> Any:
    if value is None:
        return None
    if key in _INT_FIELDS:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ReportError(f"`{key}` must be an integer, got {value!r}.")
        if key in _POSITIVE and value < 1:
            raise ReportError(f"`{key}` must be a positive integer, got {value!r}.")
        if value < 0:
            raise ReportError(f"`{key}` must be a non-negative integer, got {value!r}.")
    elif key in _STR_FIELDS:
        if not isinstance(value, str):
            raise ReportError(f"`{key}` must be a string, got {value!r}.")
    elif key == "dt":
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not value > 0
            or not math.isfinite(value)
        ):
            raise ReportError(f"`dt` must be a positive number, got {value!r}.")
        value = float(value)
    elif key == "horizons":
        if (
            not isinstance(value, list)
            or not value
            or not all(
                isinstance(h, (int, float)) and not isinstance(h, bool) and h > 0 for h in value
            )
        ):
            raise ReportError(f"`horizons` must be a list of positive numbers, got {value!r}.")
        value = [float(h) for h in value]
    elif key == "sections":
        if isinstance(value, str):
            value = [s.strip() for s in value.split(",") if s.strip()]
        if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
            raise ReportError(f"`sections` must be a list of names from {list(SECTIONS)}.")
        for s in value:
            if s not in SECTIONS:
                raise ReportError(str(unknown_name(s, SECTIONS, "Section")))
    elif key == "parameters":
        if not isinstance(value, dict):
            raise ReportError(f"`parameters` must be a table name = value, got {value!r}.")
    elif key == "quick":
        if not isinstance(value, bool):
            raise ReportError(f"`quick` must be true or false, got {value!r}.")
    return value


def read_config(path: str | os.PathLike) -> dict[str, Any]:
    """The options in a TOML file: top-level keys named as `ReportConfig` fields (a
    dash may stand for an underscore) and a `[parameters]` table of overrides.

    Raises `ReportError` for a missing or malformed file, an unknown key (with close
    matches) or a value of the wrong type.
    """
    p = Path(path)
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReportError(f"--config: no such file {str(p)!r}.") from None
    except OSError as e:
        raise ReportError(f"--config: cannot read {str(p)!r}: {e.strerror or e}.") from None
    except tomllib.TOMLDecodeError as e:
        raise ReportError(f"--config: {str(p)!r} is not valid TOML: {e}.") from None
    out: dict[str, Any] = {}
    keys = config_keys()
    for key, value in raw.items():
        k = key.replace("-", "_")
        if k not in keys:
            close = difflib.get_close_matches(k, keys, n=3)
            hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
            raise ReportError(f"--config {str(p)!r}: unknown key {key!r}.{hint}")
        out[k] = _check_value(k, value)
    spec = out.get("system_file")
    if spec and ":" in spec:
        # A relative file in a config file is relative to the config file, not the cwd.
        file_part, _, cls = spec.rpartition(":")
        if not Path(file_part).is_absolute():
            out["system_file"] = f"{(p.parent / file_part).resolve()}:{cls}"
    return out


def merge_config(*layers: dict[str, Any]) -> ReportConfig:
    """Defaults, then each layer in order (later wins; None means "not given")."""
    values: dict[str, Any] = {}
    params: dict[str, Any] = {}
    for layer in layers:
        for key, value in layer.items():
            if value is None:
                continue
            value = _check_value(key, value)
            if key == "parameters":
                params.update(value)
            else:
                values[key] = value
    return ReportConfig(**values, parameters=params)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return (
            repr(value)
            if math.isfinite(value)
            else ("nan" if value != value else ("inf" if value > 0 else "-inf"))
        )
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} to TOML")


def to_toml(config: dict[str, Any]) -> str:
    """A TOML text of a resolved configuration (None values are left out)."""
    lines = [
        "# chaosjax report configuration (resolved); run again with",
        "#   chaosjax report --config config.toml",
        "",
    ]
    for key, value in config.items():
        if key == "parameters" or value is None:
            continue
        lines.append(f"{key} = {_toml_value(value)}")
    lines += ["", "[parameters]"]
    for key, value in config.get("parameters", {}).items():
        lines.append(f"{key} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- systems


def parse_number(text: str) -> Any:
    """'30' -> 30, '2.5' -> 2.5, '[1, 2]' -> [1, 2]; ValueError otherwise."""
    text = text.strip()
    if text.startswith("["):
        value = json.loads(text)
        if not _numeric_nested(value):
            raise ValueError(text)
        return value
    try:
        return int(text)
    except ValueError:
        value = float(text)
        if not math.isfinite(value):
            raise ValueError(text) from None
        return value


def _numeric_nested(v: Any) -> bool:
    if isinstance(v, list):
        return bool(v) and all(_numeric_nested(x) for x in v)
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def load_system_class(spec: str) -> type:
    """The class named by 'path/to/file.py:ClassName' (a cj.Flow or cj.Map subclass)."""
    from .systems import Flow, Map

    if ":" not in spec:
        raise ReportError(f"--system-file must have the form path.py:ClassName, got {spec!r}.")
    path_text, _, cls_name = spec.rpartition(":")
    path = Path(path_text)
    if not path.is_file():
        raise ReportError(f"--system-file: no such file {path_text!r}.")
    mod_name = f"_chaosjax_user_{abs(hash(str(path.resolve())))}"
    try:
        module_spec = importlib.util.spec_from_file_location(mod_name, path)
        if module_spec is None or module_spec.loader is None:
            raise ReportError(f"--system-file: cannot import {path_text!r} as Python.")
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[mod_name] = module
        module_spec.loader.exec_module(module)
    except ReportError:
        raise
    except Exception as e:  # noqa: BLE001 - the user's file: report, don't trace
        raise ReportError(
            f"--system-file: importing {path_text!r} failed: {type(e).__name__}: {e}"
        ) from e
    classes = [
        n
        for n, v in vars(module).items()
        if isinstance(v, type) and issubclass(v, (Flow, Map)) and v not in (Flow, Map)
    ]
    cls = getattr(module, cls_name, None)
    if cls is None:
        close = difflib.get_close_matches(cls_name, classes, n=3)
        hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
        known = f" Systems in the file: {', '.join(classes)}." if classes else ""
        raise ReportError(f"--system-file: {path_text!r} has no class {cls_name!r}.{hint}{known}")
    if not (isinstance(cls, type) and issubclass(cls, (Flow, Map))):
        raise ReportError(f"--system-file: {cls_name!r} is not a cj.Flow or cj.Map subclass.")
    return cls


def resolve_system(
    name: str | None, parameters: dict[str, Any] | None = None, system_file: str | None = None
):
    """A system from a catalogue name or a user file, with parameter overrides.

    Raises `ReportError`/`ValueError` with a message for the user (unknown names list
    close matches).
    """
    from . import systems

    parameters = dict(parameters or {})
    if system_file:
        cls = load_system_class(system_file)
        fields = {f.name for f in dataclasses.fields(cls)}
        for key in parameters:
            if key not in fields:
                raise unknown_name(key, fields, f"Parameter of {cls.__name__}:")
        try:
            system = cls(**parameters)
        except Exception as e:  # noqa: BLE001
            raise ReportError(f"--system-file: {cls.__name__}(...) failed: {e}") from e
    else:
        if not name:
            raise ReportError("Give a SYSTEM name (see `chaosjax systems`) or --system-file.")
        system = systems.get(name, **parameters)
    try:
        x0 = system.default_state()
    except Exception as e:  # noqa: BLE001
        raise ReportError(f"{type(system).__name__}.default_state() failed: {e}") from e
    if np.asarray(x0).ndim != 1:
        raise ReportError(f"{type(system).__name__}.default_state() must return shape (dim,).")
    return system


def main_parameter(system) -> str | None:
    """The parameter a report varies by default (e.g. rho of Lorenz63, r of the logistic
    map): a known choice for catalogue systems, else the first scalar parameter; None
    when the system has no scalar parameter."""
    names = [k for k, v in system.parameters().items() if np.asarray(v).ndim == 0]
    preferred = MAIN_PARAMETER.get(cjio.system_name(system))
    if preferred in names:
        return preferred
    return names[0] if names else None


def observed_coordinate(system) -> int:
    """The coordinate a report observes: the last bounded one for a flow (z of Lorenz63),
    the first for a map; coordinates that grow by design (phases) are avoided."""
    from .systems import Flow

    unbounded = set(getattr(system, "unbounded_coordinates", ()) or ())
    bounded = [i for i in range(system.dim) if i not in unbounded] or list(range(system.dim))
    return bounded[-1] if isinstance(system, Flow) else bounded[0]


def parse_range(text: str) -> tuple[float, float, int]:
    """'2.5:4:2000' -> (2.5, 4.0, 2000)."""
    parts = str(text).split(":")
    try:
        if len(parts) != 3:
            raise ValueError
        start, stop, num = float(parts[0]), float(parts[1]), int(parts[2])
    except ValueError:
        raise ReportError(
            f"--range must be START:STOP:NUM such as 2.5:4:2000, got {text!r}."
        ) from None
    if not (math.isfinite(start) and math.isfinite(stop)) or start == stop or num < 2:
        raise ReportError(f"--range needs START != STOP and NUM >= 2, got {text!r}.")
    return start, stop, num


def resolve(config: ReportConfig) -> tuple[dict[str, Any], Any]:
    """Fill every default for the chosen system. Returns (resolved dict, system)."""
    from .systems import Flow

    system = resolve_system(config.system, config.parameters, config.system_file)
    flow = isinstance(system, Flow)
    if not flow and config.dt is not None:
        raise ReportError(f"`dt` applies to flows only; {cjio.system_name(system)} is a map.")
    q = 10 if config.quick else 1
    if flow:
        d = dict(
            dt=0.005,
            transient=20_000,
            trajectory_steps=20_000,
            save_every=4,
            average_steps=20_000,
            lyapunov_steps=200_000,
            lyapunov_transient=2_000,
            horizons=[0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0],
            shadowing_steps=80_000,
            shadowing_segments=8,
            bifurcation_transient=20_000,
            bifurcation_keep=100,
        )
    else:
        d = dict(
            dt=None,
            transient=1_000,
            trajectory_steps=5_000,
            save_every=1,
            average_steps=50_000,
            lyapunov_steps=200_000,
            lyapunov_transient=1_000,
            horizons=[5.0, 10.0, 20.0, 50.0, 100.0, 200.0],
            shadowing_steps=16_000,
            shadowing_segments=8,
            bifurcation_transient=1_000,
            bifurcation_keep=200,
        )
    out = config.to_dict()
    for key, value in d.items():
        if out.get(key) is None:
            out[key] = (
                value
                if not isinstance(value, int) or key in ("save_every", "shadowing_segments")
                else max(10, value // q)
            )
    out["members"] = out["members"] or (16 if config.quick else 64)
    out["sensitivity_members"] = out["sensitivity_members"] or (8 if config.quick else 32)
    out["observables"] = min(out["observables"] or 3, system.dim)
    if out["trajectory_steps"] % out["save_every"]:
        raise ReportError(
            f"`trajectory_steps` ({out['trajectory_steps']}) must be a multiple of "
            f"`save_every` ({out['save_every']})."
        )
    names = list(system.parameters())
    main = main_parameter(system)
    for key in ("sensitivity_parameter", "bifurcation_parameter"):
        if out[key] is None:
            out[key] = main  # None when the system has no scalar parameter: section skipped
        elif out[key] not in names:
            raise unknown_name(out[key], names, f"{key} of {type(system).__name__}:")
    if out["sensitivity_observable"] is None:
        out["sensitivity_observable"] = observed_coordinate(system)
    if not 0 <= out["sensitivity_observable"] < system.dim:
        raise ReportError(
            f"`sensitivity_observable` must be a component index below "
            f"{system.dim}, got {out['sensitivity_observable']}."
        )
    p = out["bifurcation_parameter"]
    if out["bifurcation_range"] is None and p is not None:
        lo, hi = MAIN_RANGE.get(cjio.system_name(system), (None, None))
        if lo is None or p != main:
            v = float(np.asarray(system.parameters()[p]))
            lo, hi = (0.8 * v, 1.2 * v) if v else (-1.0, 1.0)
            lo, hi = min(lo, hi), max(lo, hi)
        num = 400 if system.dim <= 4 else 100  # each value is a full run: cost grows with dim
        out["bifurcation_range"] = f"{lo:g}:{hi:g}:{num // 4 if config.quick else num}"
    if out["bifurcation_range"] is not None:
        parse_range(out["bifurcation_range"])
    out["sections"] = list(out["sections"] or SECTIONS)
    out["parameters"] = cjio.system_parameters(system)
    out["system"] = cjio.system_name(system)
    return out, system


# --------------------------------------------------------------------------- the report


def _lookup(obj: Any, path: str) -> Any:
    """`values.lyapunov_exponents[0]` -> obj['values']['lyapunov_exponents'][0]."""
    head, _, rest = path.partition(".")
    cur = obj
    for part in [head] + (rest.split(".") if rest else []):
        name, *idx = part.replace("]", "").split("[")
        cur = cur[name]
        for i in idx:
            for j in i.split(","):
                cur = cur[int(j)]
    return cur


def _jsonable(value: Any) -> Any:
    arr = np.asarray(value)
    if arr.dtype.kind == "b":
        arr = arr.astype(int)
    if arr.ndim == 0:
        return arr.item()
    return arr.tolist()


class Section:
    def __init__(self, key: str):
        self.key = key
        self.title = SECTION_TITLES[key]
        self.parts: list[str] = []
        self.status = "pending"  # "done", "skipped", "failed", "interrupted"
        self.note = ""


class ReportSummary:
    """What `run_report` produced: paths, seconds, and the status of every section."""

    def __init__(
        self,
        out: Path,
        seconds: float,
        sections: dict[str, str],
        failed: list[str],
        interrupted: bool,
    ):
        self.out, self.seconds, self.sections = out, seconds, sections
        self.failed, self.interrupted = failed, interrupted
        self.index = out / "index.html"


class _Report:
    def __init__(self, cfg: dict[str, Any], system, out: Path, progress: bool):
        self.cfg, self.system, self.out, self.progress = cfg, system, out, progress
        self.values: dict[str, Any] = {}
        self.strings: dict[str, str] = {}
        self.nc: dict[str, Any] = {}
        self.coords: dict[str, Any] = {}
        self.timings: dict[str, float] = {}
        self.sections = {k: Section(k) for k in SECTIONS if k in cfg["sections"]}
        self.figures: list[str] = []
        self.started = time.time()
        self.created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        self.interrupted: str | None = None
        self._coordinates: dict[int, Callable] = {}
        from .systems import Flow

        self.flow = isinstance(system, Flow)
        self.dt = cfg["dt"] if self.flow else None

    def busy(self, what: str):
        """A spinner with the elapsed time while a call without its own progress bar runs."""
        if not self.progress:
            return contextlib.nullcontext()
        from rich.console import Console

        return Console(stderr=False).status(f"{what} ...")

    def coordinate(self, i: int) -> Callable:
        """The observable x -> x[i], one function object per i (jit caches by identity)."""
        return self._coordinates.setdefault(i, lambda x: x[i])

    # ---- numbers and text: every one shown is recorded under the key it shows
    def put(
        self,
        name: str,
        value: Any,
        dims: tuple[str, ...] = (),
        units: str = "",
        long_name: str = "",
    ) -> None:
        arr = np.asarray(value)
        if arr.ndim != len(dims):
            raise ValueError(f"{name}: {arr.ndim}-d value for dims {dims}")
        self.values[name] = _jsonable(arr)
        self.nc[name] = (dims, arr, {"units": units, "long_name": long_name or name})

    def store(
        self, name: str, value: Any, dims: tuple[str, ...], units: str = "", long_name: str = ""
    ) -> None:
        """Data kept in results.nc only (curves behind the figures, not shown as text)."""
        self.nc[name] = (dims, np.asarray(value), {"units": units, "long_name": long_name or name})

    def coord(self, name: str, value: Any, units: str = "", long_name: str = "") -> None:
        self.coords[name] = (name, np.asarray(value), {"units": units, "long_name": long_name})

    def v(self, name: str, *idx: int, fmt: str = ".4g") -> str:
        value = self.values[name]
        for i in idx:
            value = value[i]
        key = f"values.{name}" + (f"[{','.join(map(str, idx))}]" if idx else "")
        if isinstance(value, (list, dict)):
            raise ValueError(f"{key} is not a number")
        return (
            f'<span class="num" data-key="{key}" data-fmt="{fmt}">'
            f"{html.escape(format(value, fmt))}</span>"
        )

    def c(self, name: str, fmt: str = "d") -> str:
        value = self.cfg[name]
        return (
            f'<span class="num" data-key="config.{name}" data-fmt="{fmt}">'
            f"{html.escape(format(value, fmt))}</span>"
        )

    def t(self, name: str, text: str, tag: str = "span") -> str:
        """Text that may contain digits (a citation, a version): kept in results.json."""
        self.strings[name] = text
        return f'<{tag} class="txt" data-key="strings.{name}">{html.escape(text)}</{tag}>'

    def figure(self, fig, name: str, caption: str) -> str:
        cjio.save_figure(fig, self.out / name)
        self.figures.append(name)
        return (
            f'<figure><img src="{name}" alt="{html.escape(caption)}">'
            f"<figcaption>{caption}</figcaption></figure>"
        )

    # ---- outputs
    def write(self, final: bool) -> None:
        import xarray as xr

        results = {
            "chaosjax_version": cjio._version(),
            "created": self.created,
            "complete": bool(final and not self.interrupted),
            "interrupted_in": self.interrupted,
            "config": self.cfg,
            "sections": {k: s.status for k, s in self.sections.items()},
            "figures": self.figures,
            "values": self.values,
            "strings": self.strings,
        }
        ds = xr.Dataset(
            self.nc,
            coords=self.coords,
            attrs=cjio.attributes(
                self.system,
                dt=self.dt,
                solver=self.cfg["solver"],
                seed=self.cfg["seed"],
                config=json.dumps(self.cfg),
                content="report",
                complete=int(results["complete"]),
            ),
        )
        cjio.save(ds, self.out / "results.nc")
        cjio.write_json(self.out / "results.json", results)
        cjio.write_text(self.out / "config.toml", to_toml(self.cfg))
        cjio.write_text(self.out / "index.html", self.html())

    def html(self) -> str:
        name = cjio.system_name(self.system)
        toc = "".join(
            f'<li><a href="#{k}">{html.escape(s.title)}</a>'
            f"{' (' + s.status + ')' if s.status not in ('done',) else ''}</li>"
            for k, s in self.sections.items()
        )
        body = []
        for k, s in self.sections.items():
            inner = "".join(s.parts)
            if s.status == "pending":
                inner = (
                    ('<p class="note">Not run: the report was interrupted before this section.</p>')
                    if self.interrupted
                    else "<p class=note>Running.</p>"
                )
            body.append(f'<section id="{k}"><h2>{html.escape(s.title)}</h2>{inner}</section>')
        banner = ""
        if self.interrupted:
            banner = (
                '<p class="banner">This report is partial: the run was interrupted '
                f"during the section {html.escape(SECTION_TITLES[self.interrupted])!r}."
                " The sections above it are complete.</p>"
            )
        return _PAGE.format(
            title=html.escape(f"chaosjax report: {name}"),
            name=html.escape(name),
            created=self.t("created", self.created),
            banner=banner,
            toc=toc,
            body="\n".join(body),
            css=_CSS,
        )


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:960px;
margin:2em auto;padding:0 1em;color:#1a1a1a;line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;
margin-top:2em}table{border-collapse:collapse;margin:.8em 0}td,th{border:1px solid #ccc;
padding:.25em .6em;text-align:right}th{background:#f4f4f4}td:first-child,th:first-child{
text-align:left}figure{margin:1em 0}img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:.9em;color:#555}.note{color:#555;font-style:italic}
.error{color:#a00}.banner{background:#fff3cd;border:1px solid #e0c36b;padding:.6em}
pre{background:#f7f7f7;padding:.6em;overflow-x:auto;font-size:.85em}
.meta{color:#555}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(440px,1fr));gap:.5em}
"""

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>{css}</style>
</head>
<body>
<h1>chaosjax report: {name}</h1>
<p class="meta">Created {created} by chaosjax. Every number on this page is also in
<a href="results.json">results.json</a> and <a href="results.nc">results.nc</a>; the
configuration that made it is in <a href="config.toml">config.toml</a>.</p>
{banner}
<ul>{toc}</ul>
{body}
</body>
</html>
"""


# --------------------------------------------------------------------------- sections


def _first_paragraph(doc: str | None) -> str:
    if not doc:
        return ""
    return " ".join(inspect.cleandoc(doc).split("\n\n")[0].split())


def _at_defaults(system) -> bool:
    """True when every parameter has its class default (reference values apply)."""
    try:
        default = type(system)()
    except Exception:  # noqa: BLE001 - a user's class without defaults
        return False
    if system.static_parameters() != default.static_parameters():
        return False
    return all(
        np.array_equal(np.asarray(v), np.asarray(default.parameters()[k]))
        for k, v in system.parameters().items()
    )


def _section_system(r: _Report, s: Section) -> None:
    sysm, cfg = r.system, r.cfg
    rows = []
    for name, value in sysm.parameters().items():
        arr = np.asarray(value)
        r.put(
            f"parameter_{name}",
            arr,
            tuple(f"parameter_{name}_{i}" for i in range(arr.ndim)),
            long_name=f"parameter {name}",
        )
        if arr.ndim == 0:
            shown = r.v(f"parameter_{name}", fmt=".6g")
        else:
            shown = ", ".join(
                r.v(f"parameter_{name}", *idx, fmt=".6g") for idx in np.ndindex(arr.shape)
            )
            shown = f"[{shown}]"
        rows.append(f"<tr><td>{html.escape(name)}</td><td>{shown}</td></tr>")
    for name, value in sysm.static_parameters().items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            r.put(f"structure_{name}", value, long_name=f"structural parameter {name}")
            rows.append(
                f"<tr><td>{html.escape(name)} (structural)</td>"
                f"<td>{r.v(f'structure_{name}', fmt='g')}</td></tr>"
            )
    x0 = np.asarray(sysm.default_state())
    r.put("initial_state", x0, ("component",), "state units", "initial state x0")
    r.put("dim", sysm.dim, long_name="state dimension")
    doc = _first_paragraph(type(sysm).__doc__)
    kind = "flow (continuous time)" if r.flow else "map (discrete time)"
    s.parts.append(
        f"<p><b>{html.escape(cjio.system_name(sysm))}</b>: a {kind} of dimension "
        f"{r.v('dim', fmt='d')}. {r.t('citation', doc) if doc else ''}</p>"
    )
    if r.flow:
        s.parts.append(
            f"<p>Flows are studied through their one-step map: the solver "
            f"{r.t('solver', cfg['solver'], 'code')} with a time step dt = {r.c('dt', 'g')} "
            "time units. Lyapunov exponents are per unit time.</p>"
        )
    else:
        s.parts.append(
            "<p>Times are counted in iterations; Lyapunov exponents are per iteration.</p>"
        )
    s.parts.append("<table><tr><th>parameter</th><th>value</th></tr>" + "".join(rows) + "</table>")
    s.parts.append(
        "<p>Initial state on the attractor: ("
        + ", ".join(r.v("initial_state", i, fmt=".6g") for i in range(len(x0)))
        + f"). Random seed {r.c('seed')}.</p>"
    )
    ref = getattr(sysm, "reference_exponents", None)
    if ref is not None and _at_defaults(sysm):
        r.put(
            "reference_exponents",
            np.asarray(ref, float),
            ("exponent",),
            "1/time" if r.flow else "1/iteration",
            "literature Lyapunov exponents",
        )
        s.parts.append(
            "<p>Literature Lyapunov exponents at these parameters: ("
            + ", ".join(r.v("reference_exponents", i, fmt=".4f") for i in range(len(ref)))
            + f") from {r.t('reference_source', sysm.reference_source)}.</p>"
        )


def _section_attractor(r: _Report, s: Section) -> None:
    import chaosjax as cj

    from . import plot

    cfg, sysm = r.cfg, r.system
    x0 = sysm.default_state()
    xs = cj.trajectory(
        sysm,
        x0,
        steps=cfg["trajectory_steps"],
        dt=r.dt,
        solver=cfg["solver"],
        transient=cfg["transient"],
        save_every=cfg["save_every"],
        progress=r.progress,
    )
    xs = np.asarray(xs)
    steps = cfg["transient"] + cfg["save_every"] * np.arange(xs.shape[0])
    times = steps * (r.dt or 1.0)
    r.coord(
        "trajectory_time",
        times,
        "time units" if r.flow else "iterations",
        "time since x0 (transient included)",
    )
    r.store("trajectory", xs, ("trajectory_time", "component"), "state units", "trajectory")
    r.put("trajectory_min", xs.min(0), ("component",), "state units")
    r.put("trajectory_max", xs.max(0), ("component",), "state units")
    r.put("trajectory_mean", xs.mean(0), ("component",), "state units")
    k = min(sysm.dim, 3)
    labels = [f"x{i}" for i in range(sysm.dim)]
    name = cjio.system_name(sysm)
    fig = plot.phase_portrait(
        xs, dims=tuple(range(k)) if k >= 2 else (0,), title=name, labels=labels
    )
    s.parts.append(
        f"<p>One orbit from the initial state: {r.c('transient')} steps of transient are "
        f"discarded, then {r.c('trajectory_steps')} steps are kept"
        + (f" (one state in {r.c('save_every')} stored)." if cfg["save_every"] > 1 else ".")
        + "</p>"
    )
    s.parts.append(
        r.figure(
            fig,
            "phase_portrait.png",
            "Phase portrait of the attractor" if sysm.dim > 1 else "Return map x(n+1) against x(n)",
        )
    )
    window = xs if r.flow else xs[: min(len(xs), 300)]
    tw = times[: len(window)]
    fig = plot.time_series(tw, window[:, :k], title=name, labels=labels[:k])
    s.parts.append(
        r.figure(
            fig,
            "time_series.png",
            "Time series of the first coordinates"
            if r.flow
            else "The first iterates after the transient",
        )
    )
    rows = "".join(
        f"<tr><td>x{i}</td><td>{r.v('trajectory_min', i)}</td><td>{r.v('trajectory_max', i)}"
        f"</td><td>{r.v('trajectory_mean', i)}</td></tr>"
        for i in range(min(sysm.dim, 6))
    )
    s.parts.append(
        "<table><tr><th>coordinate</th><th>min</th><th>max</th><th>mean along "
        "this orbit</th></tr>" + rows + "</table>"
    )
    s.parts.append(_classification(r))


def _divisor_near(steps: int, target: int) -> int:
    k = max(1, steps // max(target, 1))
    while steps % k:
        k -= 1
    return k


def ensemble_states(system, n: int, seed: int, *, dt: float | None = None, solver: str = "rk4"):
    """`n` initial states near the attractor: points of one orbit from the default state,
    `gap` steps apart, each moved by Gaussian noise of 1e-6 of the orbit's spread and
    kept inside the orbit's bounding box. Unlike a wide random cloud (sample_state),
    none starts outside the basin; the transient that follows decorrelates them."""
    import jax

    import chaosjax as cj

    gap = 50 if dt is not None else 10
    orbit = np.asarray(
        cj.trajectory(
            system, system.default_state(), steps=n * gap, dt=dt, solver=solver, save_every=gap
        )
    )[1:]
    lo, hi = orbit.min(0), orbit.max(0)
    noise = np.asarray(jax.random.normal(jax.random.key(seed), orbit.shape))
    return np.clip(orbit + 1e-6 * (hi - lo) * noise, lo, hi)


def _ensemble_states(r: _Report, n: int, seed: int):
    return ensemble_states(r.system, n, seed, dt=r.dt, solver=r.cfg["solver"])


def _section_averages(r: _Report, s: Section) -> None:

    import chaosjax as cj

    from . import plot

    cfg, sysm = r.cfg, r.system
    n, k = cfg["members"], cfg["observables"]
    x0s = _ensemble_states(r, n, cfg["seed"])
    every = _divisor_near(cfg["average_steps"], 200)
    ca = cj.observables.cumulative_average(
        sysm,
        x0s,
        lambda x: x[:k],
        steps=cfg["average_steps"],
        dt=r.dt,
        solver=cfg["solver"],
        transient=cfg["transient"],
        save_every=every,
        progress=r.progress,
    )
    a = np.asarray(ca.averages)  # (members, saves, k)
    t = np.asarray(ca.times)
    final = a[:, -1, :]
    std = final.std(0, ddof=1) if n > 1 else np.zeros(k)
    r.coord("averaging_time", t, "time units" if r.flow else "iterations", "averaging time T")
    r.store(
        "cumulative_average",
        a,
        ("member", "averaging_time", "observable"),
        "state units",
        "running time average of each coordinate",
    )
    r.store("ensemble_initial_state", np.asarray(x0s), ("member", "component"), "state units")
    r.put("average_mean", final.mean(0), ("observable",), "state units", "ensemble mean")
    r.put("average_std", std, ("observable",), "state units", "ensemble std (ddof=1)")
    r.put("average_sem", std / math.sqrt(n), ("observable",), "state units", "standard error")
    span = cfg["average_steps"] * (r.dt or 1)
    r.put("averaging_span", span, (), "time units" if r.flow else "iterations")
    s.parts.append(
        f"<p>Time averages of each coordinate over {r.v('averaging_span', fmt='g')} "
        f"{'time units' if r.flow else 'iterations'} ({r.c('average_steps')} steps, after "
        f"{r.c('transient')} steps of transient), from {r.c('members')} initial states: "
        "points of one orbit, slightly perturbed, so that the transient decorrelates "
        "them. For an ergodic system every member converges to the "
        "same mean (Birkhoff); the spread of the finite-time averages across members shows "
        "how long an average must be.</p>"
    )
    rows = "".join(
        f"<tr><td>x{i}</td><td>{r.v('average_mean', i)}</td><td>{r.v('average_std', i)}</td>"
        f"<td>{r.v('average_sem', i)}</td></tr>"
        for i in range(k)
    )
    s.parts.append(
        "<table><tr><th>observable</th><th>ensemble mean</th><th>std across "
        "members</th><th>standard error</th></tr>" + rows + "</table>"
    )
    s.parts.append('<div class="grid">')
    for i in range(k):
        fig = plot.cumulative_average_band(
            t,
            a[:, :, i],
            label=f"running average of x{i}",
            title=f"{cjio.system_name(sysm)}: cumulative average of x{i}",
        )
        s.parts.append(
            r.figure(
                fig,
                f"cumulative_average_x{i}.png",
                f"Cumulative time average of x{i}: ensemble mean, one-standard-deviation band "
                "and a few members",
            )
        )
    s.parts.append("</div>")


def _version_table(r: _Report) -> str:
    import importlib.metadata as md

    import jax

    rows = [("python", platform.python_version()), ("platform", platform.platform())]
    for pkg in (
        "chaosjax",
        "jax",
        "jaxlib",
        "equinox",
        "diffrax",
        "numpy",
        "xarray",
        "h5netcdf",
        "matplotlib",
        "typer",
        "rich",
    ):
        try:
            rows.append((pkg, md.version(pkg)))
        except md.PackageNotFoundError:
            continue
    rows.append(("devices", ", ".join(str(d) for d in jax.devices())))
    out = "".join(
        f"<tr><td>{html.escape(k)}</td><td>{r.t('version_' + k, v)}</td></tr>" for k, v in rows
    )
    return "<table><tr><th>software</th><th>version</th></tr>" + out + "</table>"


def _section_timings(r: _Report, s: Section) -> None:
    rows = []
    for key, seconds in r.timings.items():
        r.put(f"seconds_{key}", seconds, (), "s", f"wall time of section {key}")
        rows.append(
            f"<tr><td>{html.escape(SECTION_TITLES[key])}</td>"
            f"<td>{r.v(f'seconds_{key}', fmt='.2f')}</td></tr>"
        )
    total = time.time() - r.started
    r.put("seconds_total", total, (), "s", "wall time of the report up to this table")
    s.parts.append("<p>Wall-clock seconds per section (compilation included).</p>")
    s.parts.append(
        "<table><tr><th>section</th><th>seconds</th></tr>"
        + "".join(rows)
        + f"<tr><th>total</th><th>{r.v('seconds_total', fmt='.2f')}</th></tr>"
        "</table>"
    )
    s.parts.append(_version_table(r))
    s.parts.append("<h3>Resolved configuration</h3>")
    s.parts.append(r.t("config_toml", to_toml(r.cfg), "pre"))


def _missing(s: Section, what: str) -> None:
    s.status = "skipped"
    s.note = f"not included: this build of chaosjax has no {what}"
    s.parts.append(
        f'<p class="note">Not included: this build of chaosjax has no '
        f"<code>{html.escape(what)}</code> yet.</p>"
    )


def _contraction_rate(r: _Report) -> float:
    """The mean phase-space contraction along the orbit: <div f> for a flow (per unit
    time), <log |det DF|> for a map (per iteration). The exponents must sum to it."""
    import jax.numpy as jnp

    import chaosjax as cj

    cfg, sysm = r.cfg, r.system
    if r.flow:
        obs = sysm.divergence
    else:

        def obs(x):
            return jnp.log(jnp.abs(jnp.linalg.det(jnp.atleast_2d(sysm.jacobian(x)))))

    with r.busy("contraction rate along the orbit"):
        value = cj.time_average(
            sysm,
            sysm.default_state(),
            obs,
            steps=cfg["lyapunov_steps"],
            dt=r.dt,
            solver=cfg["solver"],
            transient=cfg["lyapunov_transient"],
        )
    return float(np.asarray(value))


def _not_applicable(s: Section, why: str) -> None:
    s.status = "skipped"
    s.note = f"not applicable: {why}"
    s.parts.append(f'<p class="note">Not applicable: {html.escape(why)}.</p>')


def _section_lyapunov(r: _Report, s: Section) -> None:
    import chaosjax as cj

    from .plot import _report as figs

    if not hasattr(cj, "lyapunov_spectrum"):
        return _missing(s, "cj.lyapunov_spectrum")
    cfg, sysm = r.cfg, r.system
    with r.busy("Lyapunov spectrum"):
        res = cj.lyapunov_spectrum(
            sysm,
            sysm.default_state(),
            steps=cfg["lyapunov_steps"],
            dt=r.dt,
            solver=cfg["solver"],
            transient=cfg["lyapunov_transient"],
        )
    lam = np.asarray(res.exponents)
    unit = "1/time" if r.flow else "1/iteration"
    r.put("lyapunov_exponents", lam, ("exponent",), unit, "Lyapunov exponents")
    r.put("lyapunov_sum", lam.sum(), (), unit, "sum of the exponents")
    hist_t = np.asarray(res.history_steps) * (r.dt or 1.0)
    r.coord(
        "lyapunov_history_time",
        hist_t,
        "time units" if r.flow else "iterations",
        "averaging time of the running estimate",
    )
    r.store(
        "lyapunov_history",
        np.asarray(res.history),
        ("lyapunov_history_time", "exponent"),
        unit,
        "running estimates of the exponents",
    )
    has_ky = hasattr(cj, "kaplan_yorke_dimension")
    if has_ky:
        r.put(
            "kaplan_yorke_dimension",
            float(np.asarray(cj.kaplan_yorke_dimension(lam))),
            long_name="Kaplan-Yorke dimension",
        )
    try:
        r.put(
            "contraction_rate",
            _contraction_rate(r),
            (),
            unit,
            "mean divergence of the vector field" if r.flow else "mean log |det DF|",
        )
    except Exception:  # noqa: BLE001 - a check only; a system without a Jacobian skips it
        pass
    ref = r.values.get("reference_exponents")
    has_ref = ref is not None and len(ref) == len(lam)
    if has_ref:
        r.put(
            "lyapunov_difference",
            lam - np.asarray(ref),
            ("exponent",),
            unit,
            "computed minus literature",
        )
    per = "per unit time" if r.flow else "per iteration"
    s.parts.append(
        f"<p>QR (Benettin) method on the one-step map: {r.c('lyapunov_steps')} steps after a "
        f"transient of {r.c('lyapunov_transient')}, tangent vectors re-orthonormalised "
        f"every step. Exponents are {per}.</p>"
    )
    head = (
        "<tr><th>exponent</th><th>computed</th>"
        + ("<th>literature</th><th>difference</th>" if has_ref else "")
        + "</tr>"
    )
    rows = []
    for j in range(len(lam)):
        row = f"<tr><td>lambda{j + 1}</td><td>{r.v('lyapunov_exponents', j, fmt='.4f')}</td>"
        if has_ref:
            row += (
                f"<td>{r.v('reference_exponents', j, fmt='.4f')}</td>"
                f"<td>{r.v('lyapunov_difference', j, fmt='.1e')}</td>"
            )
        rows.append(row + "</tr>")
    s.parts.append("<table>" + head + "".join(rows) + "</table>")
    text = f"<p>Sum of the exponents: {r.v('lyapunov_sum', fmt='.4f')}"
    if "contraction_rate" in r.values:
        text += (
            f"; the mean phase-space contraction along the orbit "
            f"({'divergence of the vector field' if r.flow else 'log |det DF|'}), "
            f"which the sum must equal: {r.v('contraction_rate', fmt='.4f')}"
        )
    text += "."
    if has_ky:
        text += f" Kaplan-Yorke dimension: <b>{r.v('kaplan_yorke_dimension', fmt='.4f')}</b>."
    s.parts.append(text + "</p>")
    fig = figs.lyapunov_convergence(
        hist_t,
        res.history,
        reference=ref if has_ref else None,
        unit="time" if r.flow else "iterations",
        title=f"{cjio.system_name(sysm)}: Lyapunov spectrum",
    )
    s.parts.append(
        r.figure(
            fig,
            "lyapunov_convergence.png",
            "Running estimates of the exponents (dashed: literature values)"
            if has_ref
            else "Running estimates of the exponents",
        )
    )


def _finite_difference(r: _Report, param: str, index: int):
    """Central difference of ensemble time averages at p -/+ delta (same initial states):
    an independent estimate of d<S>/dp to set beside the shadowing derivative."""
    import jax

    import chaosjax as cj

    cfg, sysm = r.cfg, r.system
    p = float(np.asarray(sysm.parameters()[param]))
    delta = (0.05 if r.flow else 0.01) * (abs(p) if p else 1.0)
    x0s = _ensemble_states(r, cfg["members"], cfg["seed"] + 1)
    out = []
    observable = r.coordinate(index)  # one function object: one compilation for both runs
    for value in (p - delta, p + delta):
        with r.busy("finite-difference reference"):
            ens = cj.ensemble_time_average(
                sysm.replace(**{param: value}),
                jax.random.key(cfg["seed"]),  # unused: x0 is given
                cfg["members"],
                observable,
                steps=cfg["average_steps"],
                dt=r.dt,
                solver=cfg["solver"],
                transient=cfg["transient"],
                x0=x0s,
            )
        out.append((float(ens.mean), float(ens.sem)))
    (m0, s0), (m1, s1) = out
    return delta, (m1 - m0) / (2 * delta), math.hypot(s0, s1) / (2 * delta)


def _section_sensitivity(r: _Report, s: Section) -> None:

    import chaosjax as cj

    from .plot import _report as figs

    has_table = hasattr(cj, "sensitivity_blowup_table")
    has_lss = hasattr(cj, "shadowing_sensitivity")
    if not has_table and not has_lss:
        return _missing(s, "cj.sensitivity_blowup_table or cj.shadowing_sensitivity")
    cfg, sysm = r.cfg, r.system
    param, i = cfg["sensitivity_parameter"], cfg["sensitivity_observable"]
    if param is None:
        return _not_applicable(s, "this system has no scalar parameter to differentiate by")
    unit = "time units" if r.flow else "iterations"
    r.put(
        "sensitivity_parameter_value",
        np.asarray(sysm.parameters()[param]),
        long_name=f"value of {param}",
    )
    s.parts.append(
        f"<p>The observable is the time average of x{i}; the parameter is "
        f"{r.t('sensitivity_parameter', param, 'code')} = "
        f"{r.v('sensitivity_parameter_value', fmt='.6g')}. Differentiating a finite-time "
        "average by automatic differentiation through the simulation is exact for every "
        "horizon T, but for a chaotic system the derivative grows like exp(lambda1 T) and "
        "stops estimating the derivative of the long-time average (see the post "
        "&ldquo;Chaotic Dynamical Systems Using JAX&rdquo;, section Autodiff). "
        "Least-squares shadowing estimates that derivative instead.</p>"
    )
    lam1 = r.values.get("lyapunov_exponents", [None])[0]
    shadow = None
    fd = None
    try:
        delta, fd, fd_err = _finite_difference(r, param, i)
        r.put("finite_difference_delta", delta, long_name=f"half step in {param}")
        r.put("finite_difference", fd, long_name="central difference of ensemble averages")
        r.put("finite_difference_error", fd_err, long_name="its standard error")
    except cj.DivergenceError as e:
        r.t("finite_difference_note", str(e))
    if has_lss:
        shadow = _shadowing(r, s, param, i)
    if fd is not None:
        s.parts.append(
            f"<p>Finite-difference reference: the ensemble average of x{i} at "
            f"{html.escape(param)} minus and plus {r.v('finite_difference_delta', fmt='.4g')} "
            f"changes at the rate {r.v('finite_difference', fmt='.4f')} with a standard "
            f"error of {r.v('finite_difference_error', fmt='.2g')} ({r.c('members')} members "
            "each, the same initial states).</p>"
        )
    if not has_table:
        s.parts.append(
            '<p class="note">The gradient blow-up table is not included: this '
            "build of chaosjax has no <code>cj.sensitivity_blowup_table</code>.</p>"
        )
        return
    with r.busy("finite-time gradients over horizons"):
        tab = cj.sensitivity_blowup_table(
            sysm,
            param,
            r.coordinate(i),
            horizons=cfg["horizons"],
            dt=r.dt,
            solver=cfg["solver"],
            x0=_ensemble_states(r, cfg["sensitivity_members"], cfg["seed"] + 2),
        )
    grads = np.asarray(tab.gradients)
    r.put("blowup_horizon", np.asarray(tab.horizons), ("horizon",), unit, "horizon T")
    r.put("blowup_mean", np.asarray(tab.mean), ("horizon",), long_name="mean gradient")
    r.put("blowup_std", np.asarray(tab.std), ("horizon",), long_name="std of gradients")
    r.put("blowup_median", np.asarray(tab.median), ("horizon",), long_name="median gradient")
    r.store(
        "blowup_gradients",
        grads,
        ("horizon", "sensitivity_member"),
        long_name="finite-time gradient per initial condition",
    )
    ref = None
    if (
        cjio.system_name(sysm) == "lorenz63"
        and param == "rho"
        and i == 2
        and r.flow
        and abs((r.dt or 0) - 0.005) < 1e-12
        and _at_defaults(sysm)
    ):
        ref = getattr(cj.sensitivity, "SEED_000_TABLE", None)
    head = (
        "<tr><th>horizon T</th><th>mean gradient</th><th>std</th><th>median</th>"
        + ("<th>post: mean</th><th>post: std</th>" if ref else "")
        + "</tr>"
    )
    rows = []
    if ref:
        T = [float(t) for t in np.asarray(tab.horizons)]
        r.put("seed000_mean", [ref.get(t, (np.nan, np.nan))[0] for t in T], ("horizon",))
        r.put("seed000_std", [ref.get(t, (np.nan, np.nan))[1] for t in T], ("horizon",))
    for h in range(len(grads)):
        row = (
            f"<tr><td>{r.v('blowup_horizon', h, fmt='g')}</td>"
            f"<td>{r.v('blowup_mean', h, fmt='.4e')}</td>"
            f"<td>{r.v('blowup_std', h, fmt='.4e')}</td>"
            f"<td>{r.v('blowup_median', h, fmt='.4e')}</td>"
        )
        if ref:
            row += (
                f"<td>{r.v('seed000_mean', h, fmt='.4e')}</td>"
                f"<td>{r.v('seed000_std', h, fmt='.4e')}</td>"
            )
        rows.append(row + "</tr>")
    s.parts.append(
        f"<p>Finite-time gradients of the average of x{i} with respect to "
        f"{html.escape(param)}, from {r.c('sensitivity_members')} initial conditions on the "
        f"attractor, for horizons T in {unit}"
        + (" (beside the table printed in that post, same system and step)" if ref else "")
        + ":</p>"
    )
    s.parts.append("<table>" + head + "".join(rows) + "</table>")
    fig = figs.gradient_blowup(
        tab.horizons,
        grads,
        lam1=lam1,
        shadowing=shadow,
        reference=fd,
        label=f"d<x{i}>_T / d{param}",
        unit=unit,
        title=f"{cjio.system_name(sysm)}: finite-time gradients blow up",
    )
    s.parts.append(
        r.figure(
            fig,
            "sensitivity_blowup.png",
            "Finite-time gradients against the horizon (symmetric log "
            "scale): their spread grows like exp(lambda1 T)",
        )
    )


def _shadowing(r: _Report, s: Section, param: str, i: int):
    import chaosjax as cj

    cfg, sysm = r.cfg, r.system
    kw: dict[str, Any] = {"dt": r.dt, "solver": cfg["solver"]} if r.flow else {}
    with r.busy("least-squares shadowing"):
        res = cj.shadowing_sensitivity(
            sysm,
            param,
            r.coordinate(i),
            sysm.default_state(),
            steps=cfg["shadowing_steps"],
            transient=cfg["transient"],
            segments=cfg["shadowing_segments"],
            **kw,
        )
    value = float(np.asarray(res.derivative))
    r.put("shadowing_derivative", value, long_name="d<S>/dp by least-squares shadowing")
    r.put(
        "shadowing_error",
        float(np.asarray(res.standard_error)),
        long_name="standard error over the windows",
    )
    r.put(
        "shadowing_window",
        float(res.time_per_window),
        (),
        "time units" if r.flow else "iterations",
        "length of one window",
    )
    r.store(
        "shadowing_estimates",
        np.asarray(res.estimates),
        ("shadowing_window_index",),
        long_name="one estimate per window",
    )
    s.parts.append(
        f"<p><b>Least-squares shadowing</b> ({r.t('shadowing_source', 'Wang 2014')}) over "
        f"{r.c('shadowing_steps')} steps "
        f"split into {r.c('shadowing_segments')} windows of "
        f"{r.v('shadowing_window', fmt='g')} {'time units' if r.flow else 'iterations'}: "
        f"d&lt;x{i}&gt;/d{html.escape(param)} = <b>{r.v('shadowing_derivative', fmt='.4f')}"
        f"</b> with a standard error of {r.v('shadowing_error', fmt='.2g')}.</p>"
    )
    return value


def _section_bifurcation(r: _Report, s: Section) -> None:
    import jax.numpy as jnp

    import chaosjax as cj

    from .plot import _report as figs

    if not hasattr(cj, "orbit_diagram"):
        return _missing(s, "cj.orbit_diagram")
    cfg, sysm = r.cfg, r.system
    param = cfg["bifurcation_parameter"]
    if param is None:
        return _not_applicable(s, "this system has no scalar parameter to vary")
    lo, hi, num = parse_range(cfg["bifurcation_range"])
    values = np.linspace(lo, hi, num)
    coord = observed_coordinate(sysm)
    kwargs: dict[str, Any] = dict(
        transient=cfg["bifurcation_transient"], keep=cfg["bifurcation_keep"]
    )
    if r.flow:
        kwargs.update(dt=r.dt, solver=cfg["solver"], section=cj.LocalMaxima(coord))
    with r.busy("orbit diagram"):
        d = cj.orbit_diagram(sysm, param, jnp.asarray(values), **kwargs)
    pts = np.asarray(d.points)[..., coord]
    r.coord("bifurcation_value", values, "", f"values of {param}")
    r.store(
        "orbit_points",
        pts,
        ("bifurcation_value", "orbit_point"),
        "state units",
        f"omega-limit points of x{coord}",
    )
    r.put("bifurcation_start", lo)
    r.put("bifurcation_stop", hi)
    r.put("bifurcation_values", num)
    r.put("bifurcation_diverged", int(np.asarray(d.diverged).sum()), long_name="runs that diverged")
    what = (
        f"the local maxima of x{coord} along the orbit (a Poincare section)"
        if r.flow
        else f"the iterates of x{coord}"
    )
    s.parts.append(
        f"<p>For each of {r.v('bifurcation_values', fmt='d')} values of "
        f"{r.t('bifurcation_parameter', param, 'code')} from "
        f"{r.v('bifurcation_start', fmt='g')} to {r.v('bifurcation_stop', fmt='g')}, "
        f"{r.c('bifurcation_transient')} steps of transient are discarded and then up to "
        f"{r.c('bifurcation_keep')} points of {what} are plotted. Runs that diverged: "
        f"{r.v('bifurcation_diverged', fmt='d')}.</p>"
    )
    fig = figs.orbit_diagram(
        values,
        pts,
        param=param,
        coordinate=f"x{coord}",
        title=f"{cjio.system_name(sysm)}: orbit diagram",
    )
    s.parts.append(r.figure(fig, "orbit_diagram.png", f"Orbit diagram over {html.escape(param)}"))


def _classification(r: _Report) -> str:
    """One line: what kind of attractor the default orbit reaches (cj.classify_attractor)."""
    import chaosjax as cj

    if not hasattr(cj, "classify_attractor"):
        return (
            '<p class="note">Attractor classification not included: this build of '
            "chaosjax has no <code>cj.classify_attractor</code>.</p>"
        )
    kw: dict[str, Any] = {"dt": r.dt, "solver": r.cfg["solver"]} if r.flow else {}
    transient = min(10_000, max(r.cfg["transient"], 1_000))
    with r.busy("classifying the attractor"):
        c = cj.classify_attractor(
            r.system,
            r.system.default_state(),
            transient=transient,
            keep=128,
            lyap_steps=min(10_000, r.cfg["lyapunov_steps"]),
            **kw,
        )
    exps = np.asarray(c.exponents)
    r.put(
        "classification_exponents",
        exps,
        ("leading_exponent",),
        "1/time" if r.flow else "1/iteration",
        "leading exponents (classification)",
    )
    period = int(np.asarray(c.period))
    text = (
        f"<p>Classification of this orbit (<code>cj.classify_attractor</code>): "
        f"<b>{r.t('classification', c.label)}</b>"
    )
    if period:
        r.put("classification_period", period)
        text += f" with period {r.v('classification_period', fmt='d')}"
    text += (
        "; leading exponents over a short run: ("
        + ", ".join(r.v("classification_exponents", j, fmt=".3f") for j in range(len(exps)))
        + ").</p>"
    )
    return text


_RUNNERS: dict[str, Callable[[_Report, Section], None]] = {
    "system": _section_system,
    "attractor": _section_attractor,
    "averages": _section_averages,
    "lyapunov": _section_lyapunov,
    "sensitivity": _section_sensitivity,
    "bifurcation": _section_bifurcation,
    "timings": _section_timings,
}


def prepare_out(out: str | os.PathLike) -> Path:
    """Create the output directory (and parents); `ReportError` if it cannot be written."""
    try:
        return cjio.ensure_writable_dir(out)
    except OSError as e:
        raise ReportError(
            f"--out {str(Path(out))!r} is not a writable directory: {e.strerror or e}."
        ) from None


def _remove_previous_figures(out: Path) -> None:
    """Figures of an earlier report in `out` (listed in its results.json) go, so that no
    stale figure sits beside the new page; nothing else in the directory is touched."""
    try:
        old = json.loads((out / "results.json").read_text(encoding="utf-8"))
        names = [n for n in old.get("figures", []) if isinstance(n, str)]
    except (OSError, ValueError, AttributeError):
        return
    for name in names:
        p = out / name
        if p.parent == out and p.suffix == ".png":
            p.unlink(missing_ok=True)


def run_report(
    config: ReportConfig | dict[str, Any],
    *,
    progress: bool = False,
    say: Callable[[str], None] | None = None,
) -> ReportSummary:
    """Run every section of the report into `config.out` and return a summary.

    A section that raises is recorded as failed (its message shown in the report)
    and the others still run. KeyboardInterrupt rewrites the outputs with the
    sections done so far, marks the report partial, and is re-raised.
    """
    if isinstance(config, dict):
        config = merge_config(config)
    cfg, system = resolve(config)
    out = prepare_out(cfg["out"])
    _remove_previous_figures(out)
    say = say or (lambda msg: None)
    r = _Report(cfg, system, out, progress)
    todo = list(r.sections.values())
    r.write(final=False)
    for i, s in enumerate(todo, 1):
        say(f"[{i}/{len(todo)}] {s.title}")
        t0 = time.time()
        try:
            _RUNNERS[s.key](r, s)
            if s.status == "pending":
                s.status = "done"
        except KeyboardInterrupt:
            s.status = "interrupted"
            r.interrupted = s.key
            s.parts = ['<p class="note">Interrupted while running.</p>']
            r.write(final=True)
            raise
        except Exception as e:  # noqa: BLE001 - one failing section must not lose the rest
            s.status = "failed"
            message = f"{type(e).__name__}: {e}"
            s.note = message
            s.parts.append(
                '<p class="error">This section failed: ' + r.t(f"error_{s.key}", message) + "</p>"
            )
            if os.environ.get("CHAOSJAX_DEBUG"):
                raise
        if s.key != "timings":
            r.timings[s.key] = time.time() - t0
        if s.status == "done":
            say(f"      done in {time.time() - t0:.1f} s")
        elif s.status == "skipped":
            say(f"      {s.note}")
        elif s.status == "failed":
            say(f"      failed: {s.note}")
        r.write(final=s is todo[-1])
    return ReportSummary(
        out,
        time.time() - r.started,
        {k: s.status for k, s in r.sections.items()},
        [k for k, s in r.sections.items() if s.status == "failed"],
        False,
    )
