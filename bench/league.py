"""Several configurations in one daemon (issue 30), measured in one run on this machine.

``ratchet run recipes/selfplay-league.yaml`` (Connect Four, Hex 5x5, Breakthrough 5x5)
from random weights, in its own run directory, for ``--minutes``; then stopped by
SIGTERM as `ratchet stop` would. Printed: for each configuration, its champions' ratings
in its own pool (Bradley-Terry over its promotion tests and probation games, uniform
random = 0) from the first champion to the last, with 95% intervals; and the
curriculum's weights and worker shares at every rebalance, with the reasons of the last.

    python -m bench.league [--minutes 40] [--run-dir DIR]
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench._results import ROOT, add_arguments, recorded

RECIPE = ROOT / "recipes" / "selfplay-league.yaml"


def run(run_dir: Path, minutes: float) -> float:
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    log = (run_dir.parent / f"{run_dir.name}.log").open("w")
    print(f"ratchet run {RECIPE.relative_to(ROOT)} --run-dir {run_dir} for {minutes:g} min "
          f"(log {log.name})", flush=True)
    started = time.time()
    process = subprocess.Popen([sys.executable, "-m", "ratchet", "run", str(RECIPE),
                                "--run-dir", str(run_dir), "-q"], stdout=log,
                               stderr=subprocess.STDOUT)
    try:
        while time.time() - started < 60 * minutes and process.poll() is None:
            time.sleep(min(60.0, max(1.0, started + 60 * minutes - time.time())))
            if process.poll() is None:
                print(f"  {(time.time() - started) / 60:4.1f} min: {standing(run_dir)}",
                      flush=True)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(300)
    if process.returncode not in (0, None):
        print(f"the run exited with {process.returncode}; see {log.name}")
    return (time.time() - started) / 60


def standing(run_dir: Path) -> str:
    from ratchet.core.rundir import configuration_dirs
    from ratchet.core.store import Store

    shown = []
    for name, sub in configuration_dirs(run_dir).items():
        with Store(sub) as store:
            shown.append(f"{name} v{store.champion().version} after "
                         f"{store.last_cycle()} cycles")
    return "; ".join(shown) or "starting"


def ratings(run_dir: Path) -> None:
    from ratchet.core.rundir import configuration_dirs
    from ratchet.plugins.targets.selfplay.report import views

    print("\n## Ratings, each configuration in its own pool (Elo, uniform random = 0)\n")
    print("| configuration | champions | first | last | last - first |")
    print("|---|---|---|---|---|")
    for name, sub in configuration_dirs(run_dir).items():
        found = views(sub)
        points = found[0]["points"] if found else []
        if len(points) < 2:
            print(f"| {name} | {len(points)} | | | no promotion (or not rated yet) |")
            continue
        first, last = points[0], points[-1]
        spread = ((first["high"] - first["low"]) ** 2 + (last["high"] - last["low"]) ** 2
                  ) ** 0.5 / 2
        gain = last["value"] - first["value"]
        print(f"| {name} | {len(points)} | {first['value']:+.0f} [{first['low']:+.0f}, "
              f"{first['high']:+.0f}] | {last['label']} {last['value']:+.0f} "
              f"[{last['low']:+.0f}, {last['high']:+.0f}] | {gain:+.0f} "
              f"[{gain - spread:+.0f}, {gain + spread:+.0f}] |")
        print("|  | curve | " + ", ".join(f"{p['label']} {p['value']:+.0f}" for p in points)
              + " | | |")


def curriculum(run_dir: Path) -> None:
    from ratchet.core.rundir import read_league

    league = read_league(run_dir)
    history = league.get("history") or []
    names = sorted(league.get("configurations") or [])
    print(f"\n## Curriculum: {len(history)} rebalances\n")
    print("| min | " + " | ".join(f"{n} weight (workers)" for n in names) + " |")
    print("|---|" + "---|" * len(names))
    start = history[0]["at"] if history else 0
    for entry in history:
        print(f"| {(entry['at'] - start) / 60:.1f} | " + " | ".join(
            f"{entry[n]['weight']:.2f} ({entry[n]['workers']})" for n in names) + " |")
    moved = sum(1 for a, b in zip(history, history[1:], strict=False)
                if any(a[n]["weight"] != b[n]["weight"] for n in names))
    print(f"\nweights changed at {moved} of {max(len(history) - 1, 0)} rebalances")
    print("\nthe last rebalance's reasons:")
    for n, w in (league.get("weights") or {}).items():
        print(f"- {n}: weight {w['weight']:.2f}, share {w['share']:.0%}, "
              f"{w.get('workers')} workers: {w['why']}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=40.0, help="how long it runs")
    ap.add_argument("--run-dir", type=Path, default=None,
                    help="its run directory (default: a new temporary one)")
    add_arguments(ap)
    args = ap.parse_args(argv)
    with recorded("league", "Self-play: three configurations in one daemon", args):
        run_dir = args.run_dir or Path(tempfile.mkdtemp(prefix="ratchet-league-")) / "run"
        minutes = run(run_dir, args.minutes)
        print(f"\nran {minutes:.1f} min")
        ratings(run_dir)
        curriculum(run_dir)


if __name__ == "__main__":
    main()
