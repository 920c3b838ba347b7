"""Build the compiled statevector kernel; all metadata lives in pyproject.toml."""

from __future__ import annotations

import os
import tempfile

import numpy
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

CSRC = "qsession_provider/sim/csrc"


class BuildExt(build_ext):
    """Add -O3, and OpenMP when a small test program builds with -fopenmp."""

    def build_extensions(self) -> None:
        if self.compiler.compiler_type == "unix":
            omp = ["-fopenmp"] if self._compiles_with("-fopenmp") else []
            for ext in self.extensions:
                ext.extra_compile_args += ["-O3", *omp]
                ext.extra_link_args += omp
        super().build_extensions()

    def _compiles_with(self, flag: str) -> bool:
        with tempfile.TemporaryDirectory() as tmp:
            src = os.path.join(tmp, "omp_check.c")
            with open(src, "w") as f:
                f.write("#include <omp.h>\nint main(void) { return omp_get_max_threads() < 1; }\n")
            try:
                objs = self.compiler.compile([src], output_dir=tmp, extra_postargs=[flag])
                self.compiler.link_executable(
                    objs, "omp_check", output_dir=tmp, extra_postargs=[flag]
                )
            except Exception:  # any compiler or linker failure means: build without OpenMP
                return False
        return True


setup(
    ext_modules=[
        Extension(
            "qsession_provider.sim._kernel",
            sources=[
                f"{CSRC}/{name}.c"
                for name in (
                    "module",
                    "dispatch",
                    "simd_generic",
                    "simd_avx2",
                    "simd_avx512",
                    "threads",
                    "expectation",
                    "fusion",
                    "permute",
                    "trajectories",
                )
            ],
            depends=[
                f"{CSRC}/{name}"
                for name in (
                    "kernels.h",
                    "internal.h",
                    "vector.inc",
                    "vector_streams.inc",
                    "readout.inc",
                    "ops.inc",
                    "trajectories.h",
                    "trajectories_module.inc",
                )
            ],
            include_dirs=[numpy.get_include()],
            define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        )
    ],
    cmdclass={"build_ext": BuildExt},
)
