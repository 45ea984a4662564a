"""Saving and loading a policy: safetensors for the weights, JSON for the rest. Loading
never unpickles and always builds the model the metadata describes, then loads into it
(strictly), so what comes back is what was saved."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ratchet.core.atomic import atomic_write_json
from ratchet.core.errors import RatchetError
from ratchet.plugins.targets.cartpole.ssm import Arch, SSMPolicy

FORMAT_VERSION = 1


def save_policy(model: SSMPolicy, path: str | os.PathLike[str],
                meta: dict[str, Any] | None = None) -> Path:
    """Write ``path`` (.safetensors) and ``path`` with .json beside it, both atomically."""
    from safetensors.torch import save_file

    path = Path(path).with_suffix(".safetensors")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    save_file({k: v.detach().contiguous() for k, v in model.state_dict().items()}, tmp)
    os.replace(tmp, path)
    atomic_write_json(path.with_suffix(".json"), {"format": FORMAT_VERSION,
                                                  "arch": model.arch.to_dict(),
                                                  "meta": meta or {}})
    return path


def load_policy(path: str | os.PathLike[str]) -> tuple[SSMPolicy, dict[str, Any]]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(path).with_suffix(".safetensors")
    try:
        info = json.loads(path.with_suffix(".json").read_text())
        # files written before the cap existed had uncapped decays
        arch = Arch(**{"max_decay": 1.0, **info["arch"]})
        tensors = load_file(path)
    except FileNotFoundError as exc:
        raise RatchetError(f"no saved policy at {path} ({exc.filename} is missing)") from None
    except (ValueError, KeyError, TypeError, SafetensorError) as exc:
        raise RatchetError(f"{path} is not a ratchet policy: {exc}") from None
    if info.get("format") != FORMAT_VERSION:
        raise RatchetError(f"{path} has format {info.get('format')}, expected "
                           f"{FORMAT_VERSION}")
    model = SSMPolicy(arch)
    model.load_state_dict(tensors, strict=True)
    model.eval()
    return model, info.get("meta", {})
