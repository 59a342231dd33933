"""Build the native extension; all metadata lives in pyproject.toml.

Why a setup.py at all: pyproject.toml cannot declare C extensions with the
setuptools backend, so this file only adds ``ext_modules``.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "flexemu.native._step_counter",
            sources=["flexemu/native/step_counter.c"],
            extra_compile_args=["-O2"],
        )
    ]
)
