"""Prometheus metrics read from the run's store at scrape time.

A collector, not counters inside the loop: the numbers are the store's, so they survive
restarts, and `ratchet dashboard` exposes them for a stopped run too. Totals over the
evaluations table are kept incrementally (by row id), so a scrape stays cheap with
hundreds of thousands of rows. No candidate ids as labels.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from ratchet.core.store import Store
from ratchet.service.status import run_status

DURATION_BUCKETS = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, float("inf"))


class RunCollector(Collector):
    def __init__(self, run_dir: Path, labels: dict[str, str] | None = None):
        self.run_dir = run_dir
        self.extra = dict(labels or {})
        self._lock = threading.Lock()
        self._last_id = 0
        self._evals = {"ok": 0, "failed": 0}
        self._games = 0
        self._samples = 0
        self._buckets = [0] * len(DURATION_BUCKETS)
        self._duration_sum = 0.0

    def describe(self) -> list[object]:
        return []  # names are checked at scrape time; describing must not read the store

    def _scan(self, store: Store) -> None:
        rows = store.conn.execute("SELECT id, ok, scores, duration_s, role FROM evaluations "
                                  "WHERE id > ? ORDER BY id", (self._last_id,)).fetchall()
        for row_id, ok, scores, duration, _role in rows:
            self._last_id = row_id
            self._evals["ok" if ok else "failed"] += 1
            n = len(json.loads(scores)) if ok else 0
            self._games += n
            self._samples += n
            self._duration_sum += duration
            for i, bound in enumerate(DURATION_BUCKETS):
                if duration <= bound:
                    self._buckets[i] += 1

    def collect(self) -> Iterator[object]:
        status = run_status(self.run_dir, target_report=False)
        with self._lock, Store(self.run_dir) as store:
            self._scan(store)
            info = store.run_info() or {}
            kind = (info.get("recipe") or {}).get("target", {}).get("outcome", "games")
            row = store.conn.execute(
                "SELECT COUNT(*), COALESCE(SUM(decision = 'promote'), 0), "
                "COALESCE(SUM(decision = 'failed'), 0), MAX(created_at) FROM decisions"
            ).fetchone()
            last_promotion = store.conn.execute(
                "SELECT MAX(created_at) FROM promotions").fetchone()[0]
            in_flight = len(store.pending_cycles())
            created = info.get("created_at") or time.time()
        names = ["run", *self.extra]
        values = [status["name"] or self.run_dir.name, *self.extra.values()]

        def gauge(name: str, doc: str, value: float | None) -> GaugeMetricFamily:
            g = GaugeMetricFamily(name, doc, labels=names)
            g.add_metric(values, float("nan") if value is None else float(value))
            return g

        def counter(name: str, doc: str, value: float) -> CounterMetricFamily:
            c = CounterMetricFamily(name, doc, labels=names)
            c.add_metric(values, value)
            return c

        yield gauge("ratchet_up", "1 while the loop process runs", status["running"])
        yield counter("ratchet_cycles", "Cycles decided", row[0])
        evals = CounterMetricFamily("ratchet_evaluations", "Evaluations by outcome",
                                    labels=[*names, "outcome"])
        for outcome, count in self._evals.items():
            evals.add_metric([*values, outcome], count)
        yield evals
        yield counter("ratchet_promotions", "Champions promoted", row[1])
        yield counter("ratchet_failures", "Cycles whose evaluation failed", row[2])
        yield gauge("ratchet_consecutive_failures", "Failed cycles in a row",
                    status["consecutive_failures"])
        yield gauge("ratchet_challengers_in_flight", "Challengers proposed and not yet "
                    "decided (several during a race)", in_flight)
        yield gauge("ratchet_inconclusive_ratio", "Share of the last 50 verdicts cut short "
                    "at max_games / max_samples", status["inconclusive_rate"])
        score = status["best"]["score"]
        yield gauge("ratchet_best_score", "Champion's re-measured mean score",
                    score.get("mean"))
        yield gauge("ratchet_best_score_low", "Lower end of its 95% interval",
                    score.get("low"))
        yield gauge("ratchet_current_score", "Last challenger's measured score",
                    status["current_score"])
        yield gauge("ratchet_champion_version", "Champion version (promotions so far)",
                    status["best"]["version"])
        hist = HistogramMetricFamily("ratchet_evaluation_duration_seconds",
                                     "Wall time of one evaluation", labels=names)
        hist.add_metric(values, [(("+Inf" if b == float("inf") else str(b)), c)
                                 for b, c in zip(DURATION_BUCKETS, self._buckets, strict=True)],
                        self._duration_sum)
        yield hist
        if kind == "games":
            yield counter("ratchet_games", "Games played (challenger and champion)",
                          self._games)
        else:
            yield counter("ratchet_samples", "Benchmark samples measured", self._samples)
        yield gauge("ratchet_uptime_seconds", "Seconds since the loop process started",
                    status["uptime_s"] or 0)
        yield gauge("ratchet_paused", "1 while paused (by request or safety pause)",
                    status["paused"])
        yield gauge("ratchet_cycles_since_promotion", "Stagnation: cycles since the last "
                    "promotion", status["cycles_since_promotion"])
        yield gauge("ratchet_last_cycle_timestamp_seconds", "Unix time of the last decision",
                    row[3] or created)
        yield gauge("ratchet_last_promotion_timestamp_seconds", "Unix time of the last "
                    "promotion (or of the run's creation)", last_promotion or created)
        for name, kind_of, doc, value in target_metrics(info, self.run_dir):
            if isinstance(value, list):  # samples with labels of their own
                yield labeled(name, kind_of, doc, names, values, value)
            elif kind_of == "counter":
                yield counter(name, doc, value or 0.0)
            else:
                yield gauge(name, doc, value)


def labeled(name: str, kind: str, doc: str, names: list[str], values: list[str],
            samples: list[tuple[dict[str, str], float | None]]) -> Metric:
    """A family whose samples carry labels of their own beside the run's."""
    own = list(samples[0][0]) if samples else []
    family: Metric = (CounterMetricFamily if kind == "counter" else GaugeMetricFamily)(
        name, doc, labels=[*names, *own])
    for labels, value in samples:
        family.add_metric([*values, *(str(labels[k]) for k in own)],
                          float("nan") if value is None else float(value))
    return family


class LeagueCollector(Collector):
    """A run of several configurations: the curriculum's weights, shares and workers by
    configuration, and the node controllers' readings (``league.json``)."""

    def __init__(self, run_dir: Path):
        self.run_dir = run_dir

    def describe(self) -> list[object]:
        return []

    def collect(self) -> Iterator[Metric]:
        from ratchet.core.rundir import read_league
        from ratchet.plugins.scaleout.controllers import node_series

        league = read_league(self.run_dir)
        weights = league.get("weights") or {}
        run = [str(self.run_dir.name)]
        for key, doc in (("weight", "The curriculum's weight of a configuration"),
                         ("share", "Its share of the worker slots"),
                         ("workers", "Self-play workers it runs")):
            yield labeled(f"ratchet_curriculum_{key}", "gauge", doc, ["league"], run,
                          [({"configuration": n}, w.get(key)) for n, w in weights.items()])
        for name, kind, doc, samples in node_series(league.get("resources") or {}):
            yield labeled(name, kind, doc, ["league"], run, samples)


class MergedCollector(Collector):
    """Several collectors as one: families of one name (from several runs) are merged,
    since an exposition may name each family once."""

    def __init__(self, collectors: list[Collector]):
        self.collectors = collectors

    def describe(self) -> list[object]:
        return []

    def collect(self) -> Iterator[Metric]:
        merged: dict[str, Metric] = {}
        for collector in self.collectors:
            for family in collector.collect():
                if family.name in merged:
                    merged[family.name].samples.extend(family.samples)
                else:
                    merged[family.name] = family
        yield from merged.values()


def target_metrics(info: dict, run_dir: Path) -> list[tuple[str, str, str, Any]]:
    """The target kind's own series (its spec's ``metrics``); none if they cannot be read."""
    from ratchet.core.registry import TARGETS

    kind = ((info.get("recipe") or {}).get("target") or {}).get("kind")
    if not kind:
        return []
    try:
        return TARGETS.spec_of(kind).metrics(run_dir)
    except Exception:  # a scrape must not fail because one target's report did
        return []
