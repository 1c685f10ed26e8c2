"""Build settings that pyproject.toml cannot express: the optional C scan.

`tui/core/_scan.c` makes loading about twice as fast. It is optional: where no C
compiler or Python headers are present, the build goes on without it and trailscope
runs the same work in Python (and says so once on stderr when it loads a trail).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "tui.core._scan",
            sources=["tui/core/_scan.c"],
            extra_compile_args=["-O2"],
            optional=True,
        )
    ]
)
