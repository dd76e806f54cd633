"""Build of the C feature core and its Cython wrappers.

Environment variables:
  VOICEGUARD_SANITIZE=1  build with -fsanitize=address,undefined (see README, "Sanitizers").
"""

import os
import sys
from pathlib import Path

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup

HERE = Path(__file__).parent
C_SOURCES = sorted(str(p.relative_to(HERE)) for p in (HERE / "csrc").glob("*.c"))

compile_args = ["-std=c99", "-O3", "-Wall", "-Wno-unused-function"]
link_args = []
if sys.platform == "win32":
    compile_args = ["/O2"]
SANITIZE = os.environ.get("VOICEGUARD_SANITIZE") == "1"
if SANITIZE:
    # -O1 keeps stack traces readable; recover off so any UB report fails the run
    sanitize = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"]
    compile_args = [a for a in compile_args if not a.startswith("-O")] + ["-O1", "-g"] + sanitize
    link_args += sanitize

extensions = [
    Extension(
        "voiceguard._ext._features",
        sources=["voiceguard/_ext/_features.pyx", *C_SOURCES],
        include_dirs=["csrc", np.get_include()],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        extra_compile_args=compile_args,
        extra_link_args=link_args,
    )
]

# a sanitized build must never reuse objects compiled without the sanitizers (setuptools
# skips up-to-date objects in build/), so it gets its own build folder and recompiles
options = {"build": {"build_base": "build/sanitize"}, "build_ext": {"force": True}} if SANITIZE else {}

setup(
    options=options,
    ext_modules=cythonize(extensions, compiler_directives={"language_level": "3"}),
    # the shipped weights live in models/ at the top of the repository and are installed as
    # the voiceguard.models package data
    package_dir={"voiceguard": "voiceguard", "voiceguard.models": "models"},
)
