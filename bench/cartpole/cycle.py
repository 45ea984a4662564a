"""Section cycle: the wall time of one cycle of the default recipe on this machine."""

from __future__ import annotations

import tempfile
from pathlib import Path

from bench.cartpole.common import RECIPE
from ratchet.engine.recipe import load_recipe
from ratchet.engine.runner import run_recipe


def run() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        times: list[float] = []

        def on(event: str, data: dict) -> None:
            if event == "cycle_end":
                times.append(data["result"].seconds)

        run_recipe(load_recipe(RECIPE), Path(tmp) / "run", max_cycles=2, reporter=on)
    print(f"\n## one RSI cycle of recipes/cartpole-rsi.yaml on this machine\n"
          f"cycle wall times: {', '.join(f'{t:.1f} s' for t in times)}  (issue: <= 60 s)")
