"""Self-play A/B at equal wall time: the recipe as it is against variants of it (issue 44,
"each change kept only if measured").

Each arm is ``python -m bench.selfplay --parts learn --whole`` from random weights, all arms
at once, each pinned to a core of its own (so that every arm sees the same machine for the
same minutes); then each arm's last champion plays ``--fresh-pairs`` pairs against uniform
random and every MCTS rung of the recipe's ladder (games none of the runs played). Printed:
each arm's scores, and each variant's difference from the baseline a rung with a 95%
interval (normal approximation over the games' scores, the arms independent).

    python -m bench.selfplay_ab --minutes 45 --variant 'target.full_search_share=0.25'
    python -m bench.selfplay_ab --variant 'target.window_half_life_games=1000' \\
        --recipe recipes/selfplay-hex5.yaml

A variant is one or more ``KEY=YAML`` changes joined by ``;``. One arm a core: with 2 cores,
one variant at a time.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from bench._results import ROOT, add_arguments, recorded
from bench.selfplay import RECIPE

AFRESH = re.compile(r"afresh against (\S+): ([0-9.]+) over (\d+) games .*wins (\d+), "
                    r"draws (\d+), losses (\d+)")


def arm(name: str, changes: list[str], core: int, args: argparse.Namespace, folder: Path
        ) -> subprocess.Popen[bytes]:
    command = ["taskset", "-c", str(core), sys.executable, "-m", "bench.selfplay",
               "--parts", "learn", "--whole", "--minutes", str(args.minutes),
               "--fresh-pairs", str(args.fresh_pairs), "--recipe", str(args.recipe),
               "--out", str(folder / f"{name}.md")]
    for change in changes:
        command += ["--set", change]
    log = (folder / f"{name}.log").open("w")
    print(f"{name}: {' '.join(changes) or 'the recipe as it is'} (core {core}; log "
          f"{log.name})", flush=True)
    return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)


def scores(path: Path) -> dict[str, tuple[float, float, int]]:
    """rung: (score, variance of a game's score, games), from an arm's results file."""
    out = {}
    for rung, score, games, wins, draws, _losses in AFRESH.findall(path.read_text()):
        n, mean = int(games), float(score)
        second = (int(wins) + 0.25 * int(draws)) / n
        out[rung] = (mean, max(second - mean * mean, 0.0), n)
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--variant", action="append", required=True, metavar="KEY=YAML[;...]",
                    help="a variant of the recipe (repeat for more; one arm a core)")
    ap.add_argument("--recipe", type=Path, default=RECIPE, help="a self-play recipe")
    ap.add_argument("--minutes", type=float, default=45.0, help="each arm's learning time")
    ap.add_argument("--fresh-pairs", type=int, default=100,
                    help="pairs of fresh games a rung for each arm's last champion")
    add_arguments(ap)
    args = ap.parse_args(argv)
    cores = sorted(os.sched_getaffinity(0))
    if len(args.variant) + 1 > len(cores):
        ap.error(f"{len(args.variant) + 1} arms need as many cores; {len(cores)} here")
    arms = {"baseline": [], **{f"variant{i + 1}": [c.strip() for c in v.split(";")
                                                   if c.strip()]
                               for i, v in enumerate(args.variant)}}
    with recorded("selfplay-ab", f"Self-play A/B: {args.recipe.name}", args):
        folder = Path(tempfile.mkdtemp(prefix="ratchet-selfplay-ab-"))
        running = {name: arm(name, changes, core, args, folder)
                   for (name, changes), core in zip(arms.items(), cores, strict=False)}
        for name, process in running.items():
            if process.wait() != 0:
                raise SystemExit(f"{name} failed (exit {process.returncode}): see "
                                 f"{folder / (name + '.log')}")
        found = {name: scores(folder / f"{name}.md") for name in arms}
        rungs = list(found["baseline"])
        print(f"\n| arm | {' | '.join(rungs)} |\n|---|{'---|' * len(rungs)}")
        for name, by_rung in found.items():
            print(f"| {name} | " + " | ".join(f"{by_rung[r][0]:.3f} (n={by_rung[r][2]})"
                                              for r in rungs) + " |")
        base = found["baseline"]
        for name in list(arms)[1:]:
            for rung in rungs:
                (m1, v1, n1), (m0, v0, n0) = found[name][rung], base[rung]
                half = 1.96 * math.sqrt(v1 / n1 + v0 / n0)
                print(f"- {name} - baseline against {rung}: {m1 - m0:+.3f} "
                      f"[{m1 - m0 - half:+.3f}, {m1 - m0 + half:+.3f}]")
        print(f"(each arm's own figures: {folder})")


if __name__ == "__main__":
    main()
