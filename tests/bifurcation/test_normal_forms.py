"""Fold, transcritical and pitchfork told apart, and sub- from supercritical Hopf by the
first Lyapunov coefficient, on the textbook normal forms (Kuznetsov 2004, *Elements of
Applied Bifurcation Theory*, 3rd ed., ch. 3; Guckenheimer & Holmes 1983, §3.4) and on
the Lorenz63 Hopf point."""

import jax.numpy as jnp
import numpy as np
import pytest

import chaosjax as cj
from chaosjax.systems import param


class Fold(cj.Flow):
    """x' = r + x^2: the stable branch -sqrt(-r) ends at r = 0."""

    r: float = param(-1.0)

    def vector_field(self, x):
        return self.r + x**2

    def default_state(self):
        return jnp.array([-1.0])


class FoldMap(cj.Map):
    """x -> x + r - x^2: the stable fixed point sqrt(r) (multiplier 1 - 2 sqrt(r)) meets
    the unstable one at r = 0, multiplier +1."""

    r: float = param(0.25)

    def step(self, x):
        return x + self.r - x**2

    def default_state(self):
        return jnp.array([0.5])


class Transcritical(cj.Flow):
    """x' = r x - x^2."""

    r: float = param(-0.5)

    def vector_field(self, x):
        return self.r * x - x**2

    def default_state(self):
        return jnp.array([0.0])


class Pitchfork(cj.Flow):
    """x' = r x + s x^3 (s = -1 supercritical, +1 subcritical), with a spectator y' = -y."""

    r: float = param(-0.5)
    s: float = param(-1.0)

    def vector_field(self, x):
        return jnp.stack([self.r * x[0] + self.s * x[0] ** 3, -x[1]])

    def default_state(self):
        return jnp.zeros(2)


class HopfNormalForm(cj.Flow):
    """x' = beta x - omega y + s x (x^2 + y^2), y' = omega x + beta y + s y (x^2 + y^2):
    r' = beta r + s r^3, so l1 = s / omega (Kuznetsov 2004, §3.4-3.5)."""

    beta: float = param(-0.5)
    omega: float = param(1.0)
    s: float = param(-1.0)

    def vector_field(self, x):
        r2 = x[0] ** 2 + x[1] ** 2
        return jnp.stack(
            [
                self.beta * x[0] - self.omega * x[1] + self.s * x[0] * r2,
                self.omega * x[0] + self.beta * x[1] + self.s * x[1] * r2,
            ]
        )

    def default_state(self):
        return jnp.zeros(2)


class QuadraticHopf(cj.Flow):
    """x' = beta x - y + f(x, y), y' = x + beta y + g(x, y) with quadratic and cubic
    terms f = x^2 + 2xy - y^2 + x^3/2, g = -xy + 3y^2 + x^2 y - y^3."""

    beta: float = param(-0.5)

    def vector_field(self, x):
        u, w = x[0], x[1]
        f = u**2 + 2 * u * w - w**2 + 0.5 * u**3
        g = -u * w + 3 * w**2 + u**2 * w - w**3
        return jnp.stack([self.beta * u - w + f, u + self.beta * w + g])

    def default_state(self):
        return jnp.zeros(2)


@pytest.mark.slow  # the example test covers it in the default suite
def test_fold_transcritical_pitchfork_on_normal_forms():
    fold = cj.stability_boundary(Fold(), "r", -1.0, 0.5, jnp.array([-1.0]))
    assert fold.kind == "fold" and abs(fold.value) < 1e-10
    assert abs(float(fold.point[0])) < 1e-6
    assert np.isclose(fold.coefficients["w.g_p"], 1.0) and np.isclose(fold.coefficients["a"], 1.0)
    fm = cj.stability_boundary(FoldMap(), "r", 0.25, -0.5, jnp.array([0.5]))
    assert fm.kind == "fold" and abs(fm.value) < 1e-10
    assert np.isclose(float(np.real(fm.eigenvalues[0])), 1.0, atol=1e-6)
    tc = cj.stability_boundary(Transcritical(), "r", -0.5, 0.5, jnp.array([0.0]))
    assert tc.kind == "transcritical" and abs(tc.value) < 1e-10 and tc.criticality is None
    assert np.isclose(tc.coefficients["a"], -1.0) and np.isclose(tc.coefficients["w.g_xp v"], 1.0)
    sup = cj.stability_boundary(Pitchfork(), "r", -0.5, 0.5, jnp.zeros(2))
    sub = cj.stability_boundary(Pitchfork(s=1.0), "r", -0.5, 0.5, jnp.zeros(2))
    assert sup.kind == sub.kind == "pitchfork"
    assert sup.criticality == "supercritical" and sub.criticality == "subcritical"
    assert np.isclose(sup.coefficients["b"], -1.0) and np.isclose(sub.coefficients["b"], 1.0)


def test_catalogue_transcritical_and_pitchfork():
    # Logistic x = 0 at r = 1 (transcritical, multiplier +1); Lorenz origin at rho = 1
    # (pitchfork by the x, y -> -x, -y symmetry; supercritical: C+- are born stable).
    tc = cj.stability_boundary(cj.systems.Logistic(), "r", 0.5, 1.5, jnp.array([0.0]))
    pf = cj.stability_boundary(cj.systems.Lorenz63(), "rho", 0.5, 1.5, jnp.zeros(3))
    assert tc.kind == "transcritical" and abs(tc.value - 1.0) < 1e-9
    assert pf.kind == "pitchfork" and pf.criticality == "supercritical"
    assert abs(pf.value - 1.0) < 1e-9


@pytest.mark.parametrize(("omega", "s"), [(1.0, -1.0), (1.0, 1.0), (2.0, -1.0), (0.5, 3.0)])
def test_hopf_normal_form_first_lyapunov_coefficient(omega, s):
    h = cj.stability_boundary(HopfNormalForm(omega=omega, s=s), "beta", -0.5, 0.5, jnp.zeros(2))
    assert h.kind == "hopf" and abs(h.value) < 1e-10
    assert np.isclose(h.first_lyapunov_coefficient, s / omega, rtol=1e-10)
    assert h.criticality == ("supercritical" if s < 0 else "subcritical")


def test_hopf_quadratic_terms_against_guckenheimer_holmes():
    # Guckenheimer & Holmes (1983), eq. (3.4.11), for x' = -y + f, y' = x + g:
    # 16 a = f_xxx + f_xyy + g_xxy + g_yyy + f_xy (f_xx + f_yy) - g_xy (g_xx + g_yy)
    #        - f_xx g_xx + f_yy g_yy,  with a = omega l1 (omega = 1).
    f_xx, f_xy, f_yy, f_xxx, f_xyy = 2.0, 2.0, -2.0, 3.0, 0.0
    g_xx, g_xy, g_yy, g_xxy, g_yyy = 0.0, -1.0, 6.0, 2.0, -6.0
    a = (
        f_xxx
        + f_xyy
        + g_xxy
        + g_yyy
        + f_xy * (f_xx + f_yy)
        - g_xy * (g_xx + g_yy)
        - f_xx * g_xx
        + f_yy * g_yy
    ) / 16.0
    h = cj.stability_boundary(QuadraticHopf(), "beta", -0.5, 0.5, jnp.zeros(2))
    assert h.kind == "hopf" and np.isclose(a, -7.0 / 16.0)
    assert np.isclose(h.first_lyapunov_coefficient, a, rtol=1e-10)
    assert h.criticality == "supercritical"


def _lorenz_l1_by_hand(x, sigma, rho, beta):
    """l1 by Kuznetsov's (2004, §5.4) formula with Lorenz's bilinear form written out by
    hand (the field is quadratic: C = 0, B(u, v) = (0, -(u1 v3 + u3 v1), u1 v2 + u2 v1)),
    with no automatic differentiation."""
    u, w, z = x
    A = np.array([[-sigma, sigma, 0.0], [rho - z, -1.0, -u], [w, u, -beta]])

    def B(a, b):
        return np.array([0.0, -(a[0] * b[2] + a[2] * b[0]), a[0] * b[1] + a[1] * b[0]])

    lam, vec = np.linalg.eig(A)
    k = int(np.argmax(lam.imag))
    om, q = lam[k].imag, vec[:, k] / np.sqrt(2.0)  # <q, q> = 1/2, as in (3.20)
    lt, vt = np.linalg.eig(A.T)
    p = vt[:, int(np.argmin(np.abs(lt + 1j * om)))]
    p = p / np.conj(np.conj(p) @ q)
    qb = np.conj(q)
    t = -2 * B(q, np.linalg.solve(A, B(q, qb)))
    t = t + B(qb, np.linalg.solve(2j * om * np.eye(3) - A, B(q, q)))
    return float((np.conj(p) @ t).real / (2 * om))


def test_lorenz_hopf_is_subcritical():
    sigma, beta = 10.0, 8.0 / 3.0
    lor = cj.systems.Lorenz63()
    h = cj.stability_boundary(lor, "rho", 20.0, 30.0, jnp.array([8.0, 8.0, 24.0]))
    rho_h = sigma * (sigma + beta + 3) / (sigma - beta - 1)
    assert h.kind == "hopf" and abs(h.value - rho_h) < 1e-8
    # Subcritical (Sparrow 1982, The Lorenz Equations, Springer, §2; Algaba et al. 2014,
    # Nonlinear Dyn. 79, 885-902): an unstable cycle shrinks onto C+ as rho -> rho_H-.
    assert h.criticality == "subcritical" and h.first_lyapunov_coefficient > 0
    ref = _lorenz_l1_by_hand(np.asarray(h.point), sigma, h.value, beta)
    assert np.isclose(h.first_lyapunov_coefficient, ref, rtol=1e-8)
    assert np.isclose(h.first_lyapunov_coefficient, 1.3276e-4, rtol=1e-3)
