"""Fixtures shared by the engine tests."""

from __future__ import annotations

import pytest

from tui.core import kernels


@pytest.fixture(params=["kernel", "numpy"])
def kernel_path(request):
    """Runs the test with the C kernels (tui/core/_kernels.c) and again with numpy."""
    if request.param == "kernel" and not kernels.available():  # pragma: no cover
        pytest.fail("the C kernels are not built")  # `make test` builds them
    before = kernels.set_native(request.param == "kernel")
    yield request.param
    kernels.set_native(before)
