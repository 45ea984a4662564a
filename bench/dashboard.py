"""Dashboard at scale: a run with 10,000 cycles in its store.

1. First load in headless Chromium: navigation to the chart drawn with every cycle (median
   of 3), plus the API calls behind it.
2. Is the loop slowed? Cycles of the toy benchmark (a real subprocess per batch, like any
   command target) while the web server runs in a process of its own, as the daemon runs
   it: without clients; with a live browser page and a Prometheus scrape every 5 s (normal
   use); and under stress, with two more processes fetching /api/history, /api/status and
   /metrics as fast as they can (on this 2-core machine they compete for the CPU).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from bench._results import add_arguments, recorded
from ratchet.core.store import EvaluationRow, Store
from ratchet.core.types import Candidate, Decision
from ratchet.engine.recipe import parse_recipe
from ratchet.engine.runner import run_recipe
from tests.conftest import toy_recipe

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]


def fill_store(run_dir: Path, cycles: int, recipe: dict) -> None:
    """A run with ``cycles`` decided cycles: two 20-game evaluations each, ~3% promoted."""
    rng = random.Random(0)
    store = Store(run_dir, create=True)
    store.conn.execute("PRAGMA synchronous=OFF")  # generating test data only
    champ_c = Candidate({"x": 0.2, "y": 0.5}, "baseline")
    store.init_run("toy", recipe, champ_c)
    champion = store.champion()
    for cycle in range(1, cycles + 1):
        cand = Candidate({"x": rng.random(), "y": rng.random()}, "perturb",
                         parent=champion.candidate.id)
        store.start_cycle(cycle, cand, {"proposals": cycle})
        rows = []
        for role, c in (("challenger", cand), ("champion", champion.candidate)):
            scores = tuple(float(rng.random() < 0.3) for _ in range(20))
            rows.append(EvaluationRow(c.id, role, cycle, 0, cycle, 20, True, scores, True, 0,
                                      {}, 0.4, None, time.time()))
        store.record_evaluations(rows)
        decision = Decision.PROMOTE if rng.random() < 0.03 else Decision.REJECT
        stats = {"n": 20, "llr": 0.0, "elo": rng.gauss(0, 40), "elo_low": -50, "elo_high": 50}
        new = store.finish_cycle(cycle, cand, champion, decision, "synthetic", stats,
                                 sum(rows[0].scores) / 20, sum(rows[1].scores) / 20, 40, {})
        champion = new or champion
    store.close()


def first_load(url: str, repeats: int = 3) -> list[float]:
    from playwright.sync_api import sync_playwright

    times = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        for _ in range(repeats):
            page = browser.new_page(viewport={"width": 1300, "height": 1000})
            t = time.perf_counter()
            page.goto(url)
            page.wait_for_selector("body[data-loaded]")
            page.wait_for_function("document.querySelector('#curve canvas') !== null")
            times.append(time.perf_counter() - t)
            page.close()
        browser.close()
    return times


TITLE = "Dashboard: first load with a long history, and the loop's slowdown while viewed"

HAMMER = """
import sys, httpx

with httpx.Client(base_url=sys.argv[1], timeout=30) as http:
    while True:
        for path in ("/api/history", "/api/status", "/metrics"):
            http.get(path)
"""


def cycle_times(recipe, run_dir: Path, cycles: int, load: str, url: str) -> list[float]:
    times: list[float] = []
    stop = threading.Event()

    def browse() -> None:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p, httpx.Client(base_url=url) as http:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                        args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.goto(url)
            while not stop.is_set():
                http.get("/metrics")  # a Prometheus scrape
                page.wait_for_timeout(5000)
            browser.close()

    hammers: list[subprocess.Popen[bytes]] = []
    if load != "none":
        threading.Thread(target=browse, daemon=True).start()
    if load == "stress":
        hammers = [subprocess.Popen([sys.executable, "-c", HAMMER, url]) for _ in range(2)]
    if load != "none":
        time.sleep(3)

    def report(event: str, data: dict) -> None:
        if event == "cycle_end":
            times.append(data["result"].seconds)

    run_recipe(recipe, run_dir, max_cycles=cycles, reporter=report)
    stop.set()
    for h in hammers:
        h.kill()
    return times


def start_server(run_dir: Path) -> tuple[subprocess.Popen[str], str]:
    """`ratchet dashboard` in its own process, like the daemon's web server."""
    proc = subprocess.Popen([sys.executable, "-m", "ratchet", "dashboard", str(run_dir),
                             "--port", "0"], stderr=subprocess.PIPE, text=True)
    line = proc.stderr.readline()  # type: ignore[union-attr]
    return proc, line.split(" at ")[1].split()[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cycles", type=int, default=10_000)
    ap.add_argument("--loop-cycles", type=int, default=15)
    add_arguments(ap)
    args = ap.parse_args()
    with recorded("dashboard", TITLE, args):
        with tempfile.TemporaryDirectory() as tmp:
            tmp_path = Path(tmp)
            raw = toy_recipe(tmp_path, schedule={"baseline": 0, "checkpoint_every": 0})
            recipe = parse_recipe(raw)
            run_dir = tmp_path / "run"
            t = time.perf_counter()
            fill_store(run_dir, args.cycles, recipe.model_dump(mode="json"))
            print(f"store with {args.cycles} cycles built in {time.perf_counter() - t:.0f} s "
                  f"({(run_dir / 'ratchet.db').stat().st_size / 1e6:.1f} MB)")
            server, url = start_server(run_dir)
            api = {}
            with httpx.Client(base_url=url) as http:
                for path in ("/api/history", "/api/status", "/api/champion", "/metrics"):
                    t = time.perf_counter()
                    res = http.get(path)
                    api[path] = (time.perf_counter() - t, len(res.content))
            loads = first_load(url)
            runs = ", ".join(f"{x:.2f}" for x in loads)
            print(f"\nfirst load, {args.cycles} cycles, chart drawn: median "
                  f"{statistics.median(loads):.2f} s (runs: {runs})")
            for path, (secs, size) in api.items():
                print(f"  GET {path:14s} {secs * 1000:6.0f} ms  {size / 1e3:7.0f} kB")
            medians = {load: statistics.median(cycle_times(recipe, run_dir, args.loop_cycles,
                                                            load, url))
                       for load in ("none", "normal", "stress")}
            server.terminate()
        q = medians["none"]
        print(f"\nloop cycle time, median of {args.loop_cycles} cycles (toy benchmark):")
        print(f"  no clients                           {q:.3f} s")
        print(f"  live page + Prometheus scrape (5 s)  {medians['normal']:.3f} s  "
              f"x{medians['normal'] / q:.2f}")
        print(f"  + 2 processes hammering the API      {medians['stress']:.3f} s  "
              f"x{medians['stress'] / q:.2f}")
        print(json.dumps({"first_load_s": statistics.median(loads), **medians}))


if __name__ == "__main__":
    main()
