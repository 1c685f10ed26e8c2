"""Build settings that pyproject.toml cannot express: the optional C extensions.

`tui/core/_scan.c` makes loading about twice as fast; `tui/core/_kernels.c` holds the
store's numpy kernels (facet counts, sorted inserts). Both are optional: where no C
compiler or Python headers are present, the build goes on without them and trailscope
runs the same work in Python and numpy (and says so once on stderr when it loads a
trail).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "tui.core._scan",
            sources=["tui/core/_scan.c"],
            # -pthread: a wildcard's scan of a big value table runs on several threads
            extra_compile_args=["-O2", "-pthread"],
            extra_link_args=["-pthread"],
            optional=True,
        ),
        Extension(
            "tui.core._kernels",
            sources=["tui/core/_kernels.c"],
            extra_compile_args=["-O2"],
            optional=True,
        ),
    ]
)
