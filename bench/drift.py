"""False promotions on a drifting machine: the memory preset in dry-run under a CPU burner.

In a dry run nothing is written, so every candidate is the same system and every
promotion is false. A background load switches on and off (every ``--burner-period``
seconds, one spinning process per core), which is the drift a real timing benchmark
meets. Two protocols are run on the same machine in the same invocation:

- ``ratchet``: the current protocol (challenger and champion runs interleaved in ABBA
  order, the Welch judge on paired differences, at least 10 runs a side, at most 30);
- ``blocks``: the protocol before it, the baseline (a block of 3 challenger runs, then 3
  champion runs, the unpaired Welch test, at least 3 a side, at most 9).

Printed: decisions, false promotions, their rate with a 95% Clopper-Pearson interval, and
the benchmark runs used. The memory workload runs ``--seconds`` per run (the preset's 8 s
makes 40 decisions take hours; the burner's period is what matters against it).

    python -m bench.drift [--decisions 40] [--baseline-decisions 20] [--seconds 2]
                          [--burner-period 20] [--out bench/results/DATE-drift.md]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench._results import add_arguments, recorded
from ratchet.apps.sysctl.config import load_os_config, preset, to_recipe
from ratchet.core.stats import clopper_pearson
from ratchet.core.types import Decision
from ratchet.engine.factory import build_components
from ratchet.engine.runner import Session
from ratchet.plugins.judges import WelchJudge

TITLE = "Drift: false promotions, memory preset in dry-run under a CPU burner"


def _spin(stop: multiprocessing.synchronize.Event) -> None:  # type: ignore[name-defined]
    x = 0
    while not stop.is_set():
        for _ in range(100_000):
            x += 1


class Burner:
    """One busy process per core for ``period`` seconds, then none for ``period``, ..."""

    def __init__(self, period: float):
        self.period = period
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.switches = 0

    def _run(self) -> None:
        context = multiprocessing.get_context("spawn")
        while not self._done.is_set():
            stop = context.Event()
            workers = [context.Process(target=_spin, args=(stop,), daemon=True)
                       for _ in range(os.cpu_count() or 1)]
            for w in workers:
                w.start()
            self.switches += 1
            self._done.wait(self.period)
            stop.set()
            for w in workers:
                w.join()
            self.switches += 1
            self._done.wait(self.period)

    def __enter__(self) -> Burner:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()


def recipe(seconds: float, decisions: int):
    raw = preset("memory")
    raw["benchmark_command"] = raw["benchmark_command"].replace("--seconds 8",
                                                                f"--seconds {seconds:g}")
    raw["training_config"].update(total_timesteps=decisions, algorithm="perturb")
    return to_recipe(load_os_config(raw), dry_run=True)


def run(protocol: str, decisions: int, seconds: float, work: Path) -> dict:
    chosen = recipe(seconds, decisions)
    components = build_components(chosen, work / protocol)
    if protocol == "blocks":  # main before interleaving: blocks, unpaired, 3 to 9 a side
        components.target.interleaved = False  # type: ignore[misc]
        # below today's minimum of 5 a side, so built without the recipe's validation
        components.judge = WelchJudge.model_construct(min_improvement=0.01, batch=3,
                                                      min_samples=3, max_samples=9,
                                                      direction="maximize")
    started = time.monotonic()
    with Session.for_recipe(chosen, work / protocol, components=components) as session:
        session.run(decisions)
        rows = session.store.decisions()
        runs = sum(len(r.scores) for r in session.store.evaluations() if r.ok)
    final = [r for r in rows if r.decision in (Decision.PROMOTE, Decision.REJECT)]
    promoted = [r for r in final if r.decision is Decision.PROMOTE]
    return {"protocol": protocol, "decisions": len(final), "false": len(promoted),
            "runs": runs, "minutes": (time.monotonic() - started) / 60,
            "examples": [r.reason for r in promoted[:3]]}


def line(r: dict) -> str:
    low, high = clopper_pearson(r["false"], r["decisions"])
    rate = r["false"] / r["decisions"] if r["decisions"] else float("nan")
    return (f"{r['protocol']:8} decisions {r['decisions']:3}  false promotions {r['false']:2} "
            f"({rate:.1%}, 95% CI {low:.1%}-{high:.1%})  benchmark runs {r['runs']:4}  "
            f"{r['minutes']:.1f} min")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=40)
    parser.add_argument("--baseline-decisions", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=2.0, help="memory workload per run")
    parser.add_argument("--burner-period", type=float, default=20.0)
    add_arguments(parser)
    args = parser.parse_args()
    results = []
    with recorded("drift", TITLE, args), \
            tempfile.TemporaryDirectory(prefix="ratchet-drift-") as tmp:
        print(f"memory workload {args.seconds:g} s a run; a burner on all cores switches on "
              f"and off every {args.burner_period:g} s\n")
        with Burner(args.burner_period) as burner:
            for protocol, decisions in (("blocks", args.baseline_decisions),
                                        ("ratchet", args.decisions)):
                if decisions:
                    results.append(run(protocol, decisions, args.seconds, Path(tmp)))
                    print(line(results[-1]), flush=True)
        print(f"\nburner switches: {burner.switches}")
        examples = [f"- {r['protocol']}: {e}" for r in results for e in r["examples"]]
        if examples:
            print("false promotions' reasons:", *examples, sep="\n")
    return 0

if __name__ == "__main__":
    sys.exit(main())
