"""The function's own tests: they import pytest, which must not make it ship."""
import pytest

import lambda_function


@pytest.mark.parametrize("numbers", [[1], [3, 6]])
def test_renders(numbers):
    assert "<li>" in lambda_function.lambda_handler({"title": "t", "numbers": numbers}, None)["html"]
