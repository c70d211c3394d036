"""The summary at the top of the report, and the verdict on the sensitivity estimates.

The summary shows, from the numbers the sections recorded, lambda_1 with its standard
error, the Kaplan-Yorke dimension, the sensitivity with the method that produced it,
and the classification, each with its method and length.

Estimates of one derivative that disagree never stand side by side without a word:
`verdict` compares least-squares shadowing (LSS), the full linear response (S3) and
the finite difference of ensemble averages in units of their combined standard error,
decides which one to trust, and `judge` records that and renders the explanation. The
two known reasons for a disagreement are the bias of shadowing where the system is not
uniformly hyperbolic (LSS leaves out the change of the invariant density along the
unstable manifold, the term S3 adds: Chandramoorthy & Wang 2022, SIAM J. Appl. Dyn.
Syst. 21; Ruelle 1997, Commun. Math. Phys. 187) and the non-convergence of the
finite difference of a long-time average (its standard error holds the sampling error
only, not the curvature over the step, and where the average is not a smooth function
of the parameter, as for maps with dense periodic windows, the difference quotient
does not converge as the step shrinks).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from markupsafe import Markup

from . import page

AGREEMENT = 2.0
"""Estimates further apart than this many combined standard errors disagree."""

S3_RELATIVE_ERROR = 0.1
"""S3 counts as converged when its standard error is below this fraction of its value."""


@dataclasses.dataclass(frozen=True)
class Verdict:
    """Which estimate of `d<S>/dp` to trust, and how the estimates compare.

    - `trusted`: "S3", "LSS", "finite difference", or None when none is established.
    - `lss_fd`: |LSS - finite difference| in combined standard errors (None if either
      is missing); `s3_fd` likewise for S3.
    - `s3_converged`: whether S3's standard error is below `S3_RELATIVE_ERROR` of its
      value; None when S3 was not computed.
    """

    trusted: str | None
    lss_fd: float | None
    s3_fd: float | None
    s3_converged: bool | None

    @property
    def disagree(self) -> bool:
        """LSS and the finite difference are further apart than `AGREEMENT` errors."""
        return self.lss_fd is not None and not self.lss_fd <= AGREEMENT


def _distance(a, a_err, b, b_err) -> float | None:
    if a is None or b is None:
        return None
    scale = math.hypot(a_err or 0.0, b_err or 0.0)
    if not math.isfinite(a) or not math.isfinite(b):
        return math.inf
    return abs(a - b) / scale if scale > 0 else (0.0 if a == b else math.inf)


def verdict(
    lss: float | None = None,
    lss_err: float | None = None,
    fd: float | None = None,
    fd_err: float | None = None,
    s3: float | None = None,
    s3_err: float | None = None,
) -> Verdict:
    """Compare the estimates of one derivative and decide which one to trust.

    The full linear response (S3) is trusted when it converged (standard error below
    `S3_RELATIVE_ERROR` of its value): it is the whole derivative of the long-time
    average. Otherwise, when LSS and the finite difference agree within `AGREEMENT`
    combined standard errors, the one with the smaller standard error is trusted; one
    estimate alone is trusted; when LSS and the finite difference disagree and S3 did
    not converge, no estimate is established.

    Example:

    ```python
    verdict(lss=0.99, lss_err=0.004, fd=1.02, fd_err=0.008).trusted  # None: 3.4 errors
    ```
    """
    lss_fd = _distance(lss, lss_err, fd, fd_err)
    s3_fd = _distance(s3, s3_err, fd, fd_err)
    s3_ok = None
    if s3 is not None:
        s3_ok = bool(
            math.isfinite(s3)
            and s3_err is not None
            and math.isfinite(s3_err)
            and s3_err < S3_RELATIVE_ERROR * abs(s3)
        )
    if s3_ok:
        trusted = "S3"
    elif lss_fd is not None and lss_fd <= AGREEMENT:  # both finite: the more precise
        trusted = "LSS" if (lss_err or 0.0) <= (fd_err or 0.0) else "finite difference"
    elif lss is not None and fd is None and math.isfinite(lss):
        trusted = "LSS"
    elif lss is None and fd is not None and math.isfinite(fd):
        trusted = "finite difference"
    else:
        trusted = None
    return Verdict(trusted, lss_fd, s3_fd, s3_ok)


def _value(r: Any, name: str) -> float | None:
    v = r.values.get(name)
    return None if v is None else float(v)


def judge(r: Any) -> Markup:
    """Compare the sensitivity estimates the section recorded, record the comparison
    (`values.lss_fd_discrepancy`, `values.s3_fd_discrepancy`,
    `strings.sensitivity_trusted`) and return the paragraph that explains it."""
    v = verdict(
        _value(r, "shadowing_derivative"),
        _value(r, "shadowing_error"),
        _value(r, "finite_difference"),
        _value(r, "finite_difference_error"),
        _value(r, "linear_response_derivative"),
        _value(r, "linear_response_error"),
    )
    r.put("agreement_threshold", AGREEMENT, long_name="estimates further apart disagree")
    r.put(
        "s3_relative_error_limit",
        S3_RELATIVE_ERROR,
        long_name="S3 converged when its standard error is below this fraction of its value",
    )
    if v.lss_fd is not None:
        r.put(
            "lss_fd_discrepancy",
            v.lss_fd,
            long_name="|LSS - finite difference| in combined standard errors",
        )
    if v.s3_fd is not None:
        r.put(
            "s3_fd_discrepancy",
            v.s3_fd,
            long_name="|S3 - finite difference| in combined standard errors",
        )
    r.t("sensitivity_trusted", v.trusted or "none")
    i, param = r.cfg["sensitivity_observable"], r.cfg["sensitivity_parameter"]
    return page.snippets("sensitivity").comparison(r, v=v, param=param, i=i)


def summary(r: Any) -> Markup:
    """The block at the top of the page, from what the sections recorded so far."""
    return page.snippets("summary").summary(r, values=r.values, strings=r.strings)
