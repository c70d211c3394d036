"""The scalar QR kernels of `lyapunov/_qr.py` against LAPACK's Householder QR."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from chaosjax.lyapunov import _qr


@pytest.mark.parametrize("name", ["gram_schmidt", "cholesky"])
@pytest.mark.parametrize("shape", [(2, 2), (3, 3), (3, 2), (4, 4), (5, 3)])
def test_scalar_qr_equals_householder(name, shape):
    """Square 2-D/3-D bases close the last column (perpendicular / cross product with
    the sign of det V); every form must be the same factorisation as LAPACK's."""
    kernel = _qr.KERNELS[name]
    for seed in range(5):
        V = jax.random.normal(jax.random.key(seed), shape, jnp.float64)
        Q, logr = kernel(V)
        Qh, logh = _qr.householder(V)
        np.testing.assert_allclose(np.asarray(logr), np.asarray(logh), atol=1e-12)
        np.testing.assert_allclose(np.asarray(Q), np.asarray(Qh), atol=1e-12)
        # raw form: diag R^2
        Qr, g = kernel.raw(V)
        np.testing.assert_allclose(0.5 * np.log(np.asarray(g)), np.asarray(logh), atol=1e-12)
        np.testing.assert_allclose(np.asarray(Qr), np.asarray(Q), atol=0)


def test_closed_last_column_on_a_reflection():
    """det V < 0: the closed column flips so that diag R stays positive."""
    V = jnp.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 2.0]])
    Q, logr = _qr.gram_schmidt(V)
    np.testing.assert_allclose(np.asarray(Q.T @ V), np.diag(np.exp(np.asarray(logr))), atol=1e-15)
