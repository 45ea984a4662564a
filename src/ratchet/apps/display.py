"""What `ratchet run` shows while it works: a live panel on a terminal, plain lines elsewhere."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from ratchet.core import terminal
from ratchet.core.rundir import RunDir
from ratchet.core.types import Decision, Evidence, Verdict
from ratchet.engine.loop import CycleResult

_STYLE = {Decision.PROMOTE: "bold green", Decision.REJECT: "red", Decision.GATED: "yellow",
          Decision.FAILED: "bold red"}


def _evidence_line(evidence: Evidence, verdict: Verdict | None) -> Text:
    stats = verdict.stats if verdict else {}
    text = Text(f"n={evidence.n}  ")
    if "llr" in stats:
        text.append(f"LLR {stats['llr']:+.2f} in [{stats['lower']:.2f}, {stats['upper']:.2f}]  "
                    f"Elo {stats['elo']:+.0f} [{stats['elo_low']:+.0f}, {stats['elo_high']:+.0f}]")
    elif "p_value" in stats:
        text.append(f"improvement {stats['improvement']:+.2%}  p={stats['p_value']:.3g}")
    return text


def describe(result: CycleResult) -> str:
    s = result.stats
    extra = f" Elo {s['elo']:+.0f}" if "elo" in s else (
        f" {s['improvement']:+.2%}" if "improvement" in s else "")
    return (f"cycle {result.cycle}: {result.decision.value.upper()} {result.candidate.id}"
            f"{extra} n={result.evidence.n} — {result.reason}")


def race_round_line(data: dict[str, Any]) -> str:
    cycles = data["cycles"]
    spread = ""
    if data["best_gap"] is not None:
        spread = (f" (gaps to the champion on the same seeds from {data['best_gap']:+.3g} "
                  f"to {data['worst_gap']:+.3g})")
    left = (f"{data['leader']} goes on to the test against the champion" if data["kept"] == 1
            else f"{data['kept']} go on")
    return (f"race of cycles {cycles[0]}-{cycles[-1]}, round {data['round']}: "
            f"{data['field'] - data['kept']} of {data['field']} screened out after "
            f"{data['games']} {data.get('unit', 'games')} a side{spread}; {left}")


class RunDisplay:
    """A reporter for the loop (``__call__(event, data)``)."""

    def __init__(self, name: str, judge: str, console: Console | None = None):
        self.console = console or terminal.console(stderr=True)
        self.name = name
        self.judge = judge
        self.live: Live | None = None
        self.started = time.monotonic()
        self.recent: deque[CycleResult] = deque(maxlen=8)
        self.cycle: dict[str, Any] = {}
        self.champion: dict[str, Any] = {}
        self.promotions = 0
        self.status = "starting"

    def __enter__(self) -> RunDisplay:
        if self.console.is_terminal:
            self.live = Live(self._render(), console=self.console, refresh_per_second=4,
                             transient=False)
            self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.update(self._render())
            self.live.__exit__(None, None, None)

    def set_champion(self, summary: dict[str, Any]) -> None:
        self.champion = summary
        self.promotions = summary.get("promotions", 0)
        self._refresh()

    def __call__(self, event: str, data: dict[str, Any]) -> None:
        if event == "baseline_start":
            what = data.get("what", "baseline")
            self.status = (f"measuring the {what} ({data['size']} games/runs)" if what ==
                           "baseline" else f"re-measuring the champion, promoted by the last "
                           f"test, on {data['size']} fresh games/runs")
        elif event == "baseline_end":
            what = data.get("what", "baseline")
            self.status = f"{what} measured"
            if data["scores"]:
                self.line(f"{what}: {len(data['scores'])} measured, mean "
                          f"{_mean(data['scores']):.4g}")
            else:
                self.line(f"{what}: nothing measured ({data['failed']} evaluations "
                          "failed)", "red")
        elif event == "cycle_start":
            self.cycle = {"n": data["cycle"], "candidate": data["candidate"],
                          "evidence": data["evidence"], "verdict": None}
            self.status = f"cycle {data['cycle']}"
        elif event == "batch":
            self.cycle.update(evidence=data["evidence"], verdict=data["verdict"])
        elif event == "cycle_end":
            result: CycleResult = data["result"]
            self.recent.append(result)
            if result.decision is Decision.PROMOTE:
                self.promotions += 1
            screened = result.decision is Decision.REJECT and result.stats.get("screened")
            if not screened and (result.decision is not Decision.REJECT or self.live is None):
                self.line(describe(result), _STYLE.get(result.decision))
        elif event == "race_round":
            self.status = f"race of cycles {data['cycles'][0]}-{data['cycles'][-1]}"
            self.line(race_round_line(data), "dim" if self.live is not None else None)
        elif event == "pause":
            self.line(_pause_sentence(data), "yellow")
        elif event == "stagnation":
            self.line(f"stagnation: {data['cycles']} cycles without a promotion", "yellow")
        self._refresh()

    def line(self, text: str, style: str | None = None) -> None:
        self.console.print(Text(text, style=style or ""))

    def _refresh(self) -> None:
        if self.live is not None:
            self.live.update(self._render())

    def _render(self) -> Panel:
        champ = self.champion
        score = champ.get("score") or {}
        head = Table.grid(padding=(0, 2))
        head.add_row(Text(self.name, style="bold"), self.status,
                     f"champion v{champ.get('version', 0)}",
                     _score_text(score, champ.get("provisional", False)),
                     f"promotions {self.promotions}",
                     f"up {time.monotonic() - self.started:.0f} s")
        parts: list[Any] = [head]
        if self.cycle:
            cand = self.cycle["candidate"]
            parts.append(Text(f"cycle {self.cycle['n']}: {cand.id} ({cand.origin}) {cand.note}",
                              style="cyan"))
            parts.append(_evidence_line(self.cycle["evidence"], self.cycle["verdict"]))
            verdict = self.cycle["verdict"]
            if verdict is not None and "llr" in verdict.stats:
                st = verdict.stats
                span = st["upper"] - st["lower"]
                bar = Table.grid(padding=(0, 1))
                bar.add_row(Text("reject", style="red"),
                            ProgressBar(total=span, width=50,
                                        completed=min(max(st["llr"] - st["lower"], 0), span)),
                            Text("promote", style="green"))
                parts.append(bar)
        if self.recent:
            table = Table("cycle", "candidate", "decision", "n", "effect", "reason",
                          box=None, header_style="dim")
            for r in self.recent:
                effect = (f"{r.stats['elo']:+.0f} Elo" if "elo" in r.stats else
                          f"{r.stats.get('improvement', 0):+.2%}" if "improvement" in r.stats
                          else "")
                table.add_row(str(r.cycle), r.candidate.id,
                              Text(r.decision.value, style=_STYLE.get(r.decision, "")),
                              str(r.evidence.n), effect, r.reason[:60])
            parts.append(table)
        parts.append(Text(f"judge: {self.judge} · Ctrl+C stops at the next safe point",
                          style="dim"))
        return Panel(Group(*parts), title="ratchet", border_style="blue")


def with_champion(display: RunDisplay, run_dir: Path) -> Callable[[str, dict], None]:
    """``display`` as the loop's reporter, told the champion's standing after each cycle
    (of the configuration the event came from, in a run of several)."""
    from ratchet.core.store import Store
    from ratchet.engine.summary import champion_summary

    def report(event: str, data: dict) -> None:
        display(event, data)
        screened = event == "cycle_end" and data["result"].stats.get("screened")
        if event in ("baseline_end", "cycle_end") and not screened:
            configuration = data.get("configuration")
            run = RunDir(run_dir)
            with Store(run.configuration(configuration).path if configuration
                       else run.path) as store:
                display.set_champion(champion_summary(store))
    return report


def _score_text(score: dict[str, Any], provisional: bool) -> str:
    if not score or score.get("mean") is None:
        return "score —"
    low, high = score.get("low"), score.get("high")
    ci = f" [{low:.3f}, {high:.3f}]" if low is not None and high is not None else ""
    return f"score {score['mean']:.3f}{ci} n={score['n']}{' (provisional)' if provisional else ''}"


def _pause_sentence(data: dict[str, Any]) -> str:
    seconds = data.get("seconds")
    how_long = f" for {seconds:g} s" if seconds else " until resumed"
    return f"paused{how_long}: {data.get('reason') or 'no reason given'}"


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else float("nan")
