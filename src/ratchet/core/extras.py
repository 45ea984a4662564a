"""Optional dependencies (the package's extras): one clear line when one is missing."""

from __future__ import annotations

from importlib.util import find_spec

from ratchet.core.errors import RatchetError

# what each extra brings, by the module a feature imports first
EXTRAS = {"torch": "rl", "gymnasium": "rl", "safetensors": "rl",
          "stable_baselines3": "sysctl", "gradio": "playground", "ray": "ray",
          "pyspiel": "selfplay"}


def require(*modules: str, feature: str) -> None:
    """Raise one RatchetError naming what to install if any of ``modules`` is missing."""
    missing = [m for m in modules if find_spec(m) is None]
    if not missing:
        return
    extras = sorted({EXTRAS.get(m, m) for m in missing})
    torch_first = ("pip install torch==2.13.0, then " if "torch" in missing else "")
    raise RatchetError(f"{feature} needs {', '.join(missing)}: {torch_first}pip install "
                       f"'ratchet[{','.join(extras)}]'")
