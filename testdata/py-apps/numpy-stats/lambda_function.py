"""lamina e2e app: statistics and linear algebra with numpy (its compiled core and the OpenBLAS in numpy.libs/)."""
import numpy as np
from numpy.testing import assert_allclose


def lambda_handler(event, context):
    samples = np.array(event["samples"])
    covariance = np.cov(samples, rowvar=False)
    system = covariance + np.eye(covariance.shape[0])
    solution = np.linalg.solve(system, np.array(event["rhs"]))
    assert_allclose(system @ solution, event["rhs"], rtol=1e-9)
    spectrum = np.abs(np.fft.rfft(samples[:, 0]))
    generator = np.random.default_rng(42)
    return {
        "mean": np.round(samples.mean(axis=0), 6).tolist(),
        "std": np.round(samples.std(axis=0, ddof=1), 6).tolist(),
        "solution": np.round(solution, 6).tolist(),
        "eigenvalues": np.round(np.sort(np.linalg.eigvalsh(covariance)), 9).tolist(),
        "spectrum": np.round(spectrum, 6).tolist(),
        "random": generator.integers(0, 100, size=5).tolist(),
        "version": np.__version__,
    }
