"""The interactive version of the report: the same page, with zoomable plotly figures in
place of the attractor, the orbit diagram and the convergence plots (the Lyapunov
exponents' running estimates, the cumulative averages). plotly.js is inlined once in
the page's head, so the file works without a network; the other figures are embedded
PNGs. The data are those the report stores for results.nc.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
from markupsafe import Markup

_CONFIG = {"displaylogo": False, "responsive": True, "scrollZoom": True}


@functools.cache
def plotly_js() -> Markup:
    """The plotly.js library as an inline script (several MB; read once)."""
    from plotly.offline import get_plotlyjs

    return Markup('<script type="text/javascript">') + Markup(get_plotlyjs()) + Markup("</script>")


def _array(r: Any, name: str) -> np.ndarray | None:
    """A stored data variable or coordinate of the report, or None if absent."""
    entry = r.nc.get(name, r.coords.get(name))
    if entry is None:
        return None
    return np.asarray(entry[1] if isinstance(entry, tuple) else entry)


def _div(fig, name: str, caption: str) -> Markup:
    html = fig.to_html(full_html=False, include_plotlyjs=False, config=_CONFIG, div_id=name)
    return (
        Markup('<figure class="plotly-figure">')
        + Markup(html)
        + Markup("<figcaption>")
        + caption
        + Markup("</figcaption></figure>")
    )


def _layout(fig, title: str, height: int = 480) -> None:
    fig.update_layout(
        title=title, height=height, margin=dict(l=50, r=20, t=50, b=40), template="plotly_white"
    )


def _attractor(r: Any) -> Markup | None:
    import plotly.graph_objects as go

    xs = _array(r, "trajectory")
    t = _array(r, "trajectory_time")
    if xs is None or xs.ndim != 2:
        return None
    unit = "time" if r.flow else "iteration"
    v = r.system.variable_names()
    if xs.shape[1] >= 3:
        fig = go.Figure(
            go.Scatter3d(
                x=xs[:, 0],
                y=xs[:, 1],
                z=xs[:, 2],
                mode="lines",
                line=dict(width=2, color=t, colorscale="Viridis"),
                hovertemplate=f"{v[0]}=%{{x:.4g}}<br>{v[1]}=%{{y:.4g}}<br>{v[2]}=%{{z:.4g}}"
                "<extra></extra>",
            )
        )
        fig.update_layout(scene=dict(xaxis_title=v[0], yaxis_title=v[1], zaxis_title=v[2]))
        what = "drag to rotate, scroll to zoom"
    elif xs.shape[1] == 2:
        mode = "lines" if r.flow else "markers"
        fig = go.Figure(
            go.Scattergl(x=xs[:, 0], y=xs[:, 1], mode=mode, marker=dict(size=2), line=dict(width=1))
        )
        fig.update_layout(xaxis_title=v[0], yaxis_title=v[1])
        what = "drag to zoom"
    else:
        fig = go.Figure(
            go.Scattergl(x=xs[:-1, 0], y=xs[1:, 0], mode="markers", marker=dict(size=2))
        )
        fig.update_layout(xaxis_title=f"{v[0]}(n)", yaxis_title=f"{v[0]}(n+1)")
        what = "drag to zoom"
    _layout(fig, "The attractor", 600)
    return _div(fig, "plotly-attractor", f"The attractor, coloured by {unit} ({what})")


def _orbit_diagram(r: Any) -> Markup | None:
    import plotly.graph_objects as go

    pts = _array(r, "orbit_points")
    # The swept values are the coordinate of the points' first dimension ("rho", "r").
    values = _array(r, r.nc["orbit_points"][0][0]) if pts is not None else None
    if pts is None or values is None:
        return None
    x = np.broadcast_to(values[:, None], pts.shape).ravel()
    y = pts.ravel()
    keep = np.isfinite(y)
    param = r.cfg["bifurcation_parameter"]
    fig = go.Figure(
        go.Scattergl(
            x=x[keep],
            y=y[keep],
            mode="markers",
            marker=dict(size=2, color="black", opacity=0.35),
            hovertemplate=f"{param}=%{{x:.5g}}<br>%{{y:.5g}}<extra></extra>",
        )
    )
    fig.update_layout(xaxis_title=param, yaxis_title="omega-limit points")
    _layout(fig, f"Orbit diagram over {param}", 520)
    return _div(fig, "plotly-orbit-diagram", f"Orbit diagram over {param} (drag to zoom)")


def _lyapunov(r: Any) -> Markup | None:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    hist = _array(r, "lyapunov_history")
    t = _array(r, "lyapunov_history_time")
    if hist is None or t is None:
        return None
    k = hist.shape[1]
    ref = r.values.get("reference_exponents")
    fig = make_subplots(rows=k, cols=1, shared_xaxes=True, vertical_spacing=0.04)
    for j in range(k):
        fig.add_trace(
            go.Scatter(x=t, y=hist[:, j], mode="lines", name=f"lambda{j + 1}"), row=j + 1, col=1
        )
        if ref is not None and len(ref) == k:
            where: dict[str, Any] = {"row": j + 1, "col": 1}  # plotly's stubs say str
            fig.add_hline(y=ref[j], line_dash="dash", line_color="gray", **where)
        fig.update_yaxes(title_text=f"lambda{j + 1}", row=j + 1, col=1)
    fig.update_xaxes(title_text="time" if r.flow else "iterations", row=k, col=1)
    fig.update_layout(showlegend=False)
    _layout(fig, "Running estimates of the Lyapunov exponents", max(360, 200 * k))
    return _div(
        fig,
        "plotly-lyapunov",
        "Running estimates of the exponents, one panel each (dashed: literature values)"
        if ref is not None
        else "Running estimates of the exponents, one panel each",
    )


def _averages(r: Any) -> dict[str, Markup]:
    import plotly.graph_objects as go

    a = _array(r, "cumulative_average")
    t = _array(r, "averaging_time")
    if a is None or t is None:
        return {}
    from .page import file_token

    names = r.system.variable_names()
    out = {}
    for i in range(a.shape[-1]):
        m = a[:, :, i].mean(0)
        sd = a[:, :, i].std(0, ddof=1) if a.shape[0] > 1 else np.zeros_like(m)
        fig = go.Figure(
            [
                go.Scatter(x=t, y=m + sd, mode="lines", line=dict(width=0), showlegend=False),
                go.Scatter(
                    x=t,
                    y=m - sd,
                    mode="lines",
                    line=dict(width=0),
                    fill="tonexty",
                    fillcolor="rgba(31,119,180,0.25)",
                    name="one standard deviation",
                ),
                go.Scatter(x=t, y=m, mode="lines", line=dict(color="#1f77b4"), name="mean"),
            ]
            + [
                go.Scatter(
                    x=t,
                    y=a[j, :, i],
                    mode="lines",
                    line=dict(width=0.7),
                    opacity=0.5,
                    name=f"member {j}",
                )
                for j in range(min(3, a.shape[0]))
            ]
        )
        fig.update_layout(
            xaxis_title="averaging time" if r.flow else "iterations",
            yaxis_title=f"running average of {names[i]}",
        )
        _layout(fig, f"Cumulative average of {names[i]}", 400)
        out[f"cumulative_average_{file_token(names[i], i)}.png"] = _div(
            fig,
            f"plotly-average-{i}",
            f"Cumulative time average of {names[i]}: ensemble mean and band (drag to zoom)",
        )
    return out


def figures(r: Any) -> dict[str, Markup]:
    """The interactive figures, by the name of the PNG each replaces."""
    out: dict[str, Any] = {
        "phase_portrait.png": _attractor(r),
        "orbit_diagram.png": _orbit_diagram(r),
        "lyapunov_convergence.png": _lyapunov(r),
        **_averages(r),
    }
    return {k: v for k, v in out.items() if v is not None and k in r.figures}
