"""Only the optional C part; everything else about the package is in pyproject.toml.

pinit.runtime._forward is `pinit -- CMD`'s forwarding loop in C (issue 7: a quarter of the
forwarding latency was the interpreter's cold path). It is optional: without a compiler the
install still succeeds and runtime/loopsignals.py runs the same loop in Python.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "pinit.runtime._forward",
            ["pinit/runtime/_forward.c"],
            optional=True,
            extra_compile_args=["-O2"],
        )
    ]
)
