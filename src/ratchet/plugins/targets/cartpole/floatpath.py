"""One float path for pretraining, whatever x86 CPU it runs on.

torch picks its vector kernels (ATen's CPU capability) and MKL its matrix and FFT code
paths from the CPU, and the paths round differently. Seeded PPO amplifies the last bits:
the same seed on a machine with AVX-512 and AMX picked other weights (at 216064 steps
instead of 287744) than on the machine the earlier shipped model came from. With both
pinned, pretraining gives the same bytes whichever path MKL would choose (checked here:
MKL restricted to AVX2 and numpy to x86-64-v2 give the file this machine's AVX-512 gives).
Both settings are read when torch runs its first kernel, so they go in the environment of
a fresh process, before torch is imported.

A third path has no environment setting: oneDNN (torch's mkldnn backend) compiles its
kernels for the CPU it finds, and torch runs GELU on 2-D inputs (the policy acting step by
step) through it. Its erf differs from one instruction set to the next (ONEDNN_MAX_CPU_ISA
SSE41, AVX2 and this AMD EPYC's avx512_core_bf16 each trained other weights, and the file
shipped before 2026-12-04, made on an Intel CPU, did not come out of the same seed here),
so pretraining runs with it off (``torch.backends.mkldnn.flags(enabled=False)``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

PINNED: dict[str, str] = {"ATEN_CPU_CAPABILITY": "default", "MKL_CBWR": "COMPATIBLE"}
"""ATen's scalar kernels (no AVX) and MKL's SSE2 code path (Intel's conditional numerical
reproducibility: the same results on every x86 CPU, for a given thread count)."""


def is_pinned(environ: Mapping[str, str] = os.environ) -> bool:
    return all(environ.get(name) == value for name, value in PINNED.items())


def pinned_environ() -> dict[str, str]:
    """This process's environment with the float path pinned: for a child process."""
    return {**os.environ, **PINNED}


def describe() -> str:
    """How this process's floats are computed, for a model's metadata."""
    torch = sys.modules.get("torch")
    kernels = torch.backends.cpu.get_cpu_capability() if torch is not None else "DEFAULT"
    onednn = torch is not None and torch.backends.mkldnn.is_available() and \
        torch.backends.mkldnn.enabled
    if is_pinned() and kernels == "DEFAULT" and not onednn:
        return " ".join([*(f"{name}={value}" for name, value in PINNED.items()),
                         "oneDNN off"])
    return "the CPU's own (not pinned: bit-for-bit only on the same kind of CPU)"
