"""Several configurations in one run (a recipe's ``configurations``), in one process.

Each configuration is a run of its own under ``RUN_DIR/configurations/NAME``: its own
store, champion, promotion history, rating pool, trigger and gate; its loop runs in a
thread of this process, all of them stopped by the one stop event. Beside them one
thread shares the worker slots: every ``rebalance_interval_s`` it asks each
configuration's target for its progress in its own pool and gives it workers by the
curriculum's weights (``ratchet.plugins.scaleout.curriculum``); with the target's
``workers_control`` this node's controller sets how many slots there are. The weights,
their reasons and the controller's state are kept in ``RUN_DIR/league.json`` (they
survive a restart) and shown by ``ratchet status`` and the dashboard.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, ExitStack, nullcontext
from pathlib import Path
from typing import Any

from ratchet.core.atomic import atomic_write_json
from ratchet.core.controls import Controls
from ratchet.core.errors import RatchetError
from ratchet.core.rundir import RunDir, read_league
from ratchet.engine.loop import LoopSummary, Reporter
from ratchet.engine.recipe import CurriculumSpec, Recipe
from ratchet.engine.runner import RunOptions, Session
from ratchet.plugins.scaleout.controllers import NodeControllers
from ratchet.plugins.scaleout.curriculum import allocate, weigh
from ratchet.service.pidfile import PidLock

log = logging.getLogger("ratchet.league")

HISTORY_KEPT = 500  # rebalances kept in league.json


class League:
    """The configurations' sessions, opened together, run in threads, closed together."""

    def __init__(self, recipe: Recipe, run_dir: Path, *, stop: threading.Event,
                 reporter: Reporter | None = None, options: RunOptions | None = None,
                 mode: str = "foreground"):
        self.recipe = recipe
        self.run_dir = run_dir
        self.stop = stop
        self.reporter = reporter
        self.options = options or RunOptions()
        self.mode = mode
        self.curriculum = recipe.curriculum or CurriculumSpec()
        self.sessions: dict[str, Session] = {}
        self.state = read_league(run_dir)
        self._controllers = NodeControllers(self._node_controller)  # one per node
        self._started_slots = 0  # the configurations' own `workers`, as started

    def run(self, max_cycles: int | None = None,
            beside: Callable[[], AbstractContextManager[Any]] | None = None,
            on_ready: Callable[[Any], None] | None = None) -> LoopSummary:
        with ExitStack() as opened:
            for name, recipe in self.recipe.configuration_recipes().items():
                run = RunDir(self.run_dir).configuration(name)
                directory = run.path
                directory.mkdir(parents=True, exist_ok=True)
                opened.enter_context(PidLock(directory, self.mode))
                run.clean_after_crash()
                session = Session.for_recipe(recipe, directory, reporter=self._tagged(name),
                                             stop=self.stop,
                                             hand_edit=self.options.hand_edit)
                self.sessions[name] = opened.enter_context(session)
            self._started_slots = sum(g.count for g in self._groups().values())
            self._save({"configurations": sorted(self.sessions)})
            extra = opened.enter_context(beside() if beside else nullcontext())
            sharing = threading.Thread(target=self._share, name="league-curriculum",
                                       daemon=True)
            sharing.start()
            if on_ready is not None:
                on_ready(extra)
            try:
                return self._run_all(max_cycles)
            finally:
                self.stop.set()
                sharing.join(10)

    def _run_all(self, max_cycles: int | None) -> LoopSummary:
        summaries: dict[str, LoopSummary] = {}
        errors: list[BaseException] = []

        def one(name: str, session: Session) -> None:
            try:
                summaries[name] = session.run(max_cycles)
            except BaseException as exc:  # the others stop too; the first error is raised
                log.exception("configuration %s: its loop ended with an error", name)
                errors.append(exc)
                self.stop.set()

        threads = [threading.Thread(target=one, args=item, name=f"loop-{item[0]}")
                   for item in self.sessions.items()]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]
        done = list(summaries.values())
        spent = [f"{n}: {s.budget_spent}" for n, s in summaries.items() if s.budget_spent]
        return LoopSummary(cycles=sum(s.cycles for s in done),
                           promotions=sum(s.promotions for s in done),
                           failures=sum(s.failures for s in done),
                           stopped=any(s.stopped for s in done),
                           budget_spent="; ".join(spent) or None)

    def _tagged(self, name: str) -> Reporter | None:
        reporter = self.reporter
        if reporter is None:
            return None
        return lambda kind, data: reporter(kind, {**data, "configuration": name})

    # -- sharing the workers ---------------------------------------------------------
    def _share(self) -> None:
        """Rebalance at once, then every ``rebalance_interval_s``; the node controller
        (if any) is consulted on its own interval in between. A stop file in the run's
        directory stops every configuration."""
        controls = Controls(self.run_dir)
        last = float(self.state.get("rebalanced_at", 0.0))
        due = 0.0 if time.time() - last >= self.curriculum.rebalance_interval_s else \
            self.curriculum.rebalance_interval_s - (time.time() - last)
        next_rebalance = time.monotonic() + due
        try:
            self._control()  # each node's controller, from its saved state if any
            if self.state.get("weights") or self._controllers.by_node:  # a restart
                self._apply(self.state.get("weights") or {})
        except Exception:
            log.exception("the nodes' worker controllers could not be set up")
        while not self.stop.is_set():
            if controls.stop_requested:
                log.info("stop requested: stopping every configuration")
                self.stop.set()
                break
            try:
                changed = self._control()
                if time.monotonic() >= next_rebalance:
                    self.rebalance()
                    next_rebalance = time.monotonic() + self.curriculum.rebalance_interval_s
                elif changed:
                    self._apply(self.state.get("weights") or {})
            except Exception:
                log.exception("the curriculum could not rebalance; trying again in a "
                              "minute")
                next_rebalance = time.monotonic() + min(60.0, self.curriculum
                                                        .rebalance_interval_s)
            self.stop.wait(1.0)

    def slots(self) -> int:
        """Worker slots shared among the configurations (all nodes)."""
        if self._controllers.by_node:
            return sum(int(c.workers) for c in self._controllers.by_node.values())
        if self.curriculum.workers is not None:
            return self.curriculum.workers
        return self._started_slots

    def rebalance(self) -> dict[str, Any]:
        """Measure each configuration's progress, weigh, share the slots; kept in
        league.json with the reasons (and a history of the weights)."""
        progress = {name: s.components.target.progress(self.curriculum.window_games)
                    for name, s in self.sessions.items()}
        weights = weigh(progress, min_share=self.curriculum.min_share,
                        max_multiplier=self.curriculum.max_weight_multiplier)
        shown = {n: {**w.to_dict(), "progress": p.to_dict() if p else None}
                 for (n, w), p in zip(weights.items(), progress.values(), strict=True)}
        workers = self._apply(shown)
        now = time.time()
        entry = {"at": now, **{n: {"weight": w["weight"], "workers": workers.get(n)}
                               for n, w in shown.items()}}
        history = [*self.state.get("history", []), entry][-HISTORY_KEPT:]
        self._save({"weights": shown, "rebalanced_at": now, "history": history})
        log.info("curriculum: %s", "; ".join(f"{n} weight {w['weight']:.2f}, "
                                             f"{workers.get(n)} workers ({w['why']})"
                                             for n, w in shown.items()))
        return shown

    def _apply(self, weights: dict[str, Any]) -> dict[str, int]:
        """Resize each configuration's workers to its share of the slots: of each node's
        slots where nodes have controllers, else of the run's."""
        groups = self._groups()
        if not groups:
            return {}
        shares = {n: float((weights.get(n) or {}).get("share", 1.0 / len(groups)))
                  for n in groups}
        fewest = sorted(groups, key=lambda n: groups[n].count)  # ties: those with fewer
        counts = dict.fromkeys(groups, 0)
        if self._controllers.by_node:
            for node, controller in self._controllers.by_node.items():
                here = allocate(controller.workers, shares, first=fewest)
                for name, group in groups.items():
                    if group.nodes().get(node, 0) != here[name]:
                        group.resize_node(node, here[name])
                    counts[name] += here[name]
        else:
            counts = allocate(self.slots(), shares, first=fewest)
            for name, group in groups.items():
                if group.count != counts[name]:
                    group.resize(counts[name])
        for name, count in counts.items():
            if name in weights:
                weights[name]["workers"] = count
        return counts

    def _node_controller(self, node: str, measured_group: int) -> Any:
        """``node``'s controller of its slots (at least one per configuration), from the
        target's ``workers_control``, carrying on from its saved state. Its slots are
        the workers every configuration runs there, not only the measured group's."""
        first = sum(g.nodes().get(node, 0) for g in self._groups().values())
        saved = (self.state.get("resources") or {}).get(node) or {}
        return self.recipe.target.workers_control.controller(
            node, first, at_least=len(self.sessions), saved=saved.get("controller"))

    def _groups(self) -> dict[str, Any]:
        return {n: s.workers for n, s in self.sessions.items() if s.workers is not None}

    def _control(self) -> bool:
        """Each node's controller sets that node's slots from its readings, when due (a
        node seen for the first time gets its controller; one that is gone is marked
        so). True if any node's slots changed."""
        if getattr(self.recipe.target, "workers_control", None) is None:
            return False
        groups = self._groups()
        if not groups:
            return False
        done = self._controllers.step(next(iter(groups.values())), time.time())
        if done is None:
            return False
        resources = dict(self.state.get("resources") or {})
        resources.update(done.readings)
        for node in done.gone:
            resources[node] = {**resources.get(node, {}), "gone_at": time.time()}
            log.warning("node %s is gone: its controller stops", node)
        self._save({"resources": resources})
        return bool(done.new or done.gone or any(
            kept["action"] for kept in done.readings.values()))

    def _save(self, update: dict[str, Any]) -> None:
        self.state = {**self.state, **update}
        atomic_write_json(RunDir(self.run_dir).league, self.state)


def run_league(recipe: Recipe, run_dir: Path, *, max_cycles: int | None = None,
               reporter: Reporter | None = None, stop: threading.Event | None = None,
               beside: Callable[[], AbstractContextManager[Any]] | None = None,
               on_ready: Callable[[Any], None] | None = None,
               options: RunOptions | None = None, mode: str = "foreground") -> LoopSummary:
    """Run every configuration of ``recipe`` until stopped (or each is done)."""
    if RunDir(run_dir).store.exists():
        raise RatchetError(f"{run_dir} holds a run of one configuration; a recipe with "
                           "`configurations` needs a run directory of its own (--run-dir)")
    league = League(recipe, run_dir, stop=stop or threading.Event(), reporter=reporter,
                    options=options, mode=mode)
    return league.run(max_cycles, beside=beside, on_ready=on_ready)
