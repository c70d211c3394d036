"""The report's configuration: every option, read from a TOML file and the command
line, validated, and written back as the TOML of a resolved run."""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
import os
import tomllib
from pathlib import Path
from typing import Any

from .._validate import unknown_name

SECTIONS: tuple[str, ...] = (
    "system", "attractor", "averages", "lyapunov", "sensitivity", "bifurcation", "model",
    "timings",
)  # fmt: skip

SECTION_TITLES = {
    "system": "The system",
    "attractor": "The attractor",
    "averages": "Time averages and their ensemble spread",
    "lyapunov": "Lyapunov spectrum",
    "sensitivity": "Sensitivity of a time average to a parameter",
    "bifurcation": "Orbit diagram",
    "model": "A learned model, judged as a dynamical system",
    "timings": "Timings and software",
}


class ReportError(ValueError):
    """A user error in the report's configuration (message meant for the user)."""


@dataclasses.dataclass
class ReportConfig:
    """Every option of the report; `None` means "the default for this system".

    Steps count iterations of the one-step map (`dt` time units each for a flow).
    `chaosjax.report.resolve` fills the defaults and returns the configuration the
    report records.

    `linear_response_steps` is the length of the orbit of the full linear response
    (space-split sensitivity, S3) beside least-squares shadowing; 0 leaves it out.
    `self_contained` embeds the figures in `index.html` (data URIs), so that the page
    alone is the whole report; `interactive` also writes `interactive.html`, the same
    report with zoomable plotly figures (plotly.js inlined: no network needed).

    Example:

    ```python
    from chaosjax.report import ReportConfig, run_report
    run_report(ReportConfig(system="henon", out="henon_report", quick=True))
    ```
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
    linear_response_steps: int | None = None
    bifurcation_parameter: str | None = None
    bifurcation_range: str | None = None
    bifurcation_transient: int | None = None
    bifurcation_keep: int | None = None
    sections: list[str] | None = None
    quick: bool = False
    model: str | None = None
    self_contained: bool = False
    interactive: bool = False

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


_INT_FIELDS = {
    "seed", "transient", "trajectory_steps", "save_every", "members", "average_steps",
    "observables", "lyapunov_steps", "lyapunov_transient", "sensitivity_observable",
    "sensitivity_members", "shadowing_steps", "shadowing_segments",
    "linear_response_steps", "bifurcation_transient", "bifurcation_keep",
}  # fmt: skip
_POSITIVE = _INT_FIELDS - {
    "seed",
    "transient",
    "lyapunov_transient",
    "sensitivity_observable",
    "linear_response_steps",
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
    "model",
}


def config_keys() -> list[str]:
    """The names of every option, in the order of `ReportConfig`'s fields."""
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
        if value > 2**53:  # counts stay exact as float64 times up to 2**53
            raise ReportError(f"`{key}` = {value} is more than a run can count (at most 2**53).")
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
                isinstance(h, (int, float))
                and not isinstance(h, bool)
                and math.isfinite(h)
                and h > 0
                for h in value
            )
        ):
            raise ReportError(
                f"`horizons` must be a list of positive finite numbers, got {value!r}."
            )
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
        for name, p in value.items():
            if not _finite_nested(p):
                raise ReportError(
                    f"`parameters.{name}` must be a finite number or a list of finite numbers, "
                    f"got {p!r}."
                )
    elif key in ("quick", "self_contained", "interactive"):
        if not isinstance(value, bool):
            raise ReportError(f"`{key}` must be true or false, got {value!r}.")
    if key == "solver":
        from .. import _validate
        from ..discretize import SOLVERS

        try:
            _validate.one_of(value, "solver", SOLVERS)
        except ValueError as e:
            raise ReportError(str(e)) from None
    return value


def read_config(path: str | os.PathLike) -> dict[str, Any]:
    """The options in a TOML file.

    Top-level keys are named as `ReportConfig` fields (a dash may stand for an
    underscore); a `[parameters]` table holds parameter overrides. A relative
    `system_file` is taken relative to the TOML file.

    **Arguments:**

    - `path`: the TOML file.

    **Returns:**

    A dict of the options given (validated), to pass to `merge_config`.

    **Raises:**

    `ReportError` for a missing or malformed file, an unknown key (with close matches)
    or a value of the wrong type.

    Example:

    ```python
    cfg = merge_config(read_config("run.toml"), {"members": 16})
    ```
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
    """A `ReportConfig` from layers of options: defaults, then each layer in order.

    **Arguments:**

    - `layers`: dicts of options (a TOML file's, the command line's); a later layer
      wins, `None` means "not given", and `parameters` tables are merged key by key.

    **Returns:**

    The `ReportConfig`. Raises `ReportError` for a value of the wrong type.
    """
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
    """A TOML text of a resolved configuration (`None` values are left out), which
    `read_config` reads back to the same configuration."""
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


def parse_number(text: str) -> Any:
    """A parameter value from the command line: '30' -> 30, '2.5' -> 2.5,
    '[1, 2]' -> [1, 2]; `ValueError` for anything else (or a non-finite number)."""
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


def _finite_nested(v: Any) -> bool:
    """A finite number, or a non-empty (nested) list of them."""
    if isinstance(v, list):
        return bool(v) and all(_finite_nested(x) for x in v)
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _numeric_nested(v: Any) -> bool:
    if isinstance(v, list):
        return bool(v) and all(_numeric_nested(x) for x in v)
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def parse_range(text: str, name: str = "--range") -> tuple[float, float, int]:
    """A parameter sweep 'START:STOP:NUM': '2.5:4:2000' -> (2.5, 4.0, 2000).

    Raises `ReportError` naming `name` unless START != STOP are finite and NUM >= 2.
    """
    parts = str(text).split(":")
    try:
        if len(parts) != 3:
            raise ValueError
        start, stop, num = float(parts[0]), float(parts[1]), int(parts[2])
    except ValueError:
        raise ReportError(
            f"{name} must be START:STOP:NUM such as 2.5:4:2000, got {text!r}."
        ) from None
    if not (math.isfinite(start) and math.isfinite(stop)) or start == stop or num < 2:
        raise ReportError(f"{name} needs START != STOP and NUM >= 2, got {text!r}.")
    return start, stop, num
