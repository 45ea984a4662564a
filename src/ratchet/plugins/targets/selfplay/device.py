"""Where the network runs: ``device: auto | cpu | cuda | cuda:N`` (training, the gate, the
loop's matches, the workers' batched evaluation).

``auto`` is a GPU where torch sees one, else the CPU; ``cuda`` without a GPU is an error
that says so (never a silent fall back). Workers spread over the GPUs: worker ``i`` plays
on GPU ``i mod count`` (one worker group a GPU). On a GPU the forward passes and training
run in bfloat16 autocast (mixed precision); on the CPU in float32.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator

from ratchet.core.errors import RatchetError

PATTERN = r"^(auto|cpu|cuda(:[0-9]+)?)$"


class DeviceError(RatchetError):
    """The device the recipe asks for is not there."""


def resolve_device(wanted: str, index: int = 0) -> str:
    """The torch device for ``wanted`` ("cpu", "cuda:N"); ``index`` spreads workers over
    the GPUs."""
    import torch

    if not re.match(PATTERN, wanted):
        raise DeviceError(f"device {wanted!r}: expected auto, cpu, cuda or cuda:N")
    if wanted == "cpu":
        return "cpu"
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if count == 0:
        if wanted == "auto":
            return "cpu"
        raise DeviceError(f"device {wanted}: no GPU answers here (torch.cuda.is_available() "
                          "is False: a CPU build of torch, or no driver); use device: cpu "
                          "or auto")
    if wanted in ("auto", "cuda"):
        return f"cuda:{index % count}"
    number = int(wanted.split(":")[1])
    if number >= count:
        raise DeviceError(f"device {wanted}: this machine has {count} GPU(s), cuda:0 to "
                          f"cuda:{count - 1}")
    return wanted


@contextlib.contextmanager
def mixed_precision(device: str) -> Iterator[None]:
    """bfloat16 autocast on a GPU; nothing on the CPU."""
    if not device.startswith("cuda"):
        yield
        return
    import torch

    with torch.autocast("cuda", dtype=torch.bfloat16):
        yield
