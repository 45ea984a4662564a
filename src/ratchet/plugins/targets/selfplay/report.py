"""What `ratchet status`, `/metrics` and the dashboard show of a self-play run: games,
training, the champions' ratings in their pool, probation."""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ratchet.core.rundir import RunDir

RATE_WINDOW_S = 600.0
PROGRESS_WINDOW = 1000  # self-play games: the rating trend's window on /metrics


@dataclass
class Standing:
    games: int
    recent_games: int  # in the last RATE_WINDOW_S
    pending: int       # since the last training run
    training_runs: int
    rated_games: int
    version: int | None
    rating: Any = None  # ratings.Rating against uniform random, once the pool has one
    passed: int = 0     # probation verdicts
    reverted: int = 0
    nodes: dict[str, Any] | None = None  # node: its worker controller's last reading
    last_gate: str | None = None         # the newest gate verdict
    by_host: dict[str, int] | None = None  # self-play games stored, by the host that played
    hosts_active: int = 0                  # hosts that sent a game in the last window
    training_failed: int = 0
    training_since: float = 0.0            # when the training in progress began (0: none)
    receive_errors: int = 0
    games_lost: int = 0                    # in play on a worker that was lost
    resignations: tuple[int, int, int] = (0, 0, 0)  # resigned; checked, of which false
    ladder: dict[str, Any] | None = None    # the latest shadow tournament's summary
    progress: Any = None  # curriculum.Progress over the last PROGRESS_WINDOW games


def standing(run_dir: Path) -> Standing | None:
    from ratchet.core.store import Store
    from ratchet.plugins.targets.selfplay.gamestore import (
        GAMES_LOST,
        LAST_TRAINED,
        RATING_PURPOSES,
        RECEIVE_ERRORS,
        RESIGN_CHECKED,
        RESIGN_FALSE,
        RESIGNED,
        RESOURCES,
        TRAINING_FAILED,
        TRAINING_SINCE,
        GameStore,
    )
    from ratchet.plugins.targets.selfplay.progress import measure_progress
    from ratchet.plugins.targets.selfplay.ratings import fit
    from ratchet.plugins.targets.selfplay.tournament import LAST as LADDER_LAST

    with Store(run_dir) as store:
        champion = store.champion().candidate.id
        game = (store.run_info() or {})["recipe"]["target"]["game"]
        gated = store.gated_decisions(1)
    try:
        games = GameStore(RunDir(run_dir).store)
    except sqlite3.Error:
        return None
    with games:
        recent = games.conn.execute(
            "SELECT COUNT(*) FROM selfplay_games WHERE config = ? AND created_at > ?",
            (game, time.time() - RATE_WINDOW_S)).fetchone()[0]
        trained = games.conn.execute("SELECT COUNT(*) FROM selfplay_networks").fetchone()[0]
        recorded = games.network(champion)
        rated = games.rated(game, RATING_PURPOSES)
        verdicts = [v for (v,) in games.conn.execute(
            "SELECT value FROM selfplay_meta WHERE key LIKE 'probation:%'")]
        nodes = {key.removeprefix(RESOURCES): json.loads(value) for key, value in
                 games.conn.execute("SELECT key, value FROM selfplay_meta WHERE key LIKE ?",
                                    (f"{RESOURCES}%",))}
        found = Standing(games.count(game), recent,
                         games.count(game, int(games.meta(LAST_TRAINED, "0") or 0)),
                         max(trained - 1, 0), len(rated),
                         recorded[1] if recorded else None,
                         passed=sum(v.startswith("passed") for v in verdicts),
                         reverted=sum(v.startswith("reverted") for v in verdicts),
                         nodes=nodes, last_gate=_verdict(gated[0]) if gated else None)
        found.by_host = dict(games.conn.execute(
            "SELECT host, COUNT(*) FROM selfplay_games WHERE config = ? GROUP BY host",
            (game,)))
        found.hosts_active = games.conn.execute(
            "SELECT COUNT(DISTINCT host) FROM selfplay_games WHERE config = ? AND "
            "created_at > ?", (game, time.time() - RATE_WINDOW_S)).fetchone()[0]
        found.training_failed = int(games.meta(TRAINING_FAILED, "0") or 0)
        found.training_since = float(games.meta(TRAINING_SINCE, "0") or 0)
        found.receive_errors = int(games.meta(RECEIVE_ERRORS, "0") or 0)
        found.games_lost = int(games.meta(GAMES_LOST, "0") or 0)
        found.resignations = tuple(int(games.meta(k, "0") or 0)  # type: ignore[assignment]
                                   for k in (RESIGNED, RESIGN_CHECKED, RESIGN_FALSE))
        found.ladder = json.loads(games.meta(LADDER_LAST, "null") or "null")
        ratings = fit(rated, anchor="random") if any(
            "random" in (a, b) for a, b, _ in rated) else None
        found.progress = measure_progress(games, game, PROGRESS_WINDOW, ratings)
    if ratings is not None:
        found.rating = ratings.get(champion)
    return found


def report(run_dir: Path) -> dict[str, Any]:
    s = standing(run_dir)
    if s is None:
        return {}
    out: dict[str, Any] = {
        "self-play games": f"{s.games} ({s.recent_games / RATE_WINDOW_S:.2f}/s over the last "
                           f"{RATE_WINDOW_S / 60:.0f} minutes), {s.pending} pending training"
                           + (f", {s.games_lost} lost in play on lost workers"
                              if s.games_lost else ""),
        "training runs": s.training_runs}
    version = f"v{s.version}" if s.version is not None else "v?"
    r = s.rating
    out["champion network"] = (
        f"{version}, rated {r.elo:+.0f} [{r.low:+.0f}, {r.high:+.0f}] against uniform random "
        f"(0) over {s.rated_games} rated games in its pool" if r is not None else
        f"{version} (not rated against the anchors yet)")
    if s.passed or s.reverted:
        out["probation"] = f"{s.passed} passed, {s.reverted} reverted"
    for node, seen in (s.nodes or {}).items():
        if seen.get("gone_at"):
            out[f"workers on {node}"] = "none: the node is gone (its workers were placed " \
                                        "on the others)"
            continue
        cpu = seen["measured"].get("cpu")
        band = "in its band" if seen["in_band"].get("cpu") else "outside its band"
        out[f"workers on {node}"] = (f"{seen['controller']['workers']} (CPU {cpu:.0f}%, "
                                     f"{band}; set by its controller)")
    resigned, checked, false = s.resignations
    if resigned or checked:
        out["resignations"] = (f"{resigned} games resigned; {false} of {checked} checked "
                               "games' would-be resigners did not lose"
                               + (f" ({false / checked:.1%})" if checked else ""))
    if s.last_gate:
        out["last gate"] = s.last_gate
    if s.ladder:
        when = time.strftime("%H:%M", time.localtime(s.ladder["at"]))
        out["ladder"] = f"v{s.ladder['version']} at {when}: " + ", ".join(
            f"{rung} {v['score']:.2f} [{v['low']:.2f}, {v['high']:.2f}]"
            for rung, v in ladder_order(s.ladder["rungs"]))
    return out


def ladder_order(rungs: dict[str, Any]) -> list[tuple[str, Any]]:
    """random, the MCTS rungs by strength, then earlier champions."""
    def key(item: tuple[str, Any]) -> tuple[int, int]:
        name = item[0]
        if name == "random":
            return (0, 0)
        if name.startswith("mcts-"):
            return (1, int(name.removeprefix("mcts-")))
        return (2, 0)
    return sorted(rungs.items(), key=key)


def _verdict(decision: dict[str, Any]) -> str | None:
    """A gated decision's verdict: the cycle, and passed or what failed."""
    gates = [g for g in decision["gates"] if g["gate"].startswith("gate.")]
    if not gates:
        return None
    failed = [g for g in gates if not g["passed"]]
    verdict = (f"failed {', '.join(g['gate'].removeprefix('gate.') for g in failed)}: "
               f"{failed[0]['reason']}" if failed else f"passed all {len(gates)} checks")
    return f"cycle {decision['cycle']} ({decision['candidate']}): {verdict}"


def metrics(run_dir: Path) -> list[tuple[str, str, str, Any]]:
    """The seed's series for one configuration (labels: the run's, and these own)."""
    from ratchet.plugins.scaleout.controllers import node_series

    s = standing(run_dir)
    if s is None:
        return []
    r, p = s.rating, s.progress
    return [*node_series(s.nodes or {}), *[
        ("ratchet_selfplay_games", "counter", "Self-play games stored", s.games),
        ("ratchet_selfplay_games_synced", "counter", "Self-play games received and stored, "
         "by the host that played them", [({"host": h}, n) for h, n in
                                          (s.by_host or {}).items()]),
        ("ratchet_selfplay_hosts_active", "gauge", "Hosts that sent a self-play game in the "
         f"last {RATE_WINDOW_S / 60:.0f} minutes", s.hosts_active),
        ("ratchet_selfplay_games_pending_training", "gauge", "Self-play games since the "
         "last training run", s.pending),
        ("ratchet_selfplay_training_runs", "counter", "Challenger networks trained, by "
         "outcome", [({"status": "ok"}, s.training_runs),
                     ({"status": "failed"}, s.training_failed)]),
        ("ratchet_selfplay_training_started_timestamp_seconds", "gauge", "Unix time the "
         "training run in progress began (0: none in progress)", s.training_since),
        ("ratchet_selfplay_receive_errors", "counter", "Batches of self-play games that "
         "could not be received or stored", s.receive_errors),
        ("ratchet_selfplay_games_lost", "counter", "Self-play games in play on a worker "
         "that was lost (its process or node)", s.games_lost),
        ("ratchet_selfplay_resignations", "counter", "Self-play games ended by a "
         "resignation; checked games (played on) in which a player would have resigned, "
         "and of those, the ones the would-be resigner did not lose",
         [({"kind": kind}, n) for kind, n in zip(("resigned", "checked", "false"),
                                                  s.resignations, strict=True)]),
        ("ratchet_selfplay_rated_games", "counter", "Rated games in the pool", s.rated_games),
        ("ratchet_selfplay_reverts", "counter", "Champions reverted on probation", s.reverted),
        ("ratchet_selfplay_champion_rating", "gauge", "The champion network's Bradley-Terry "
         "rating against uniform random (Elo)", r.elo if r else None),
        ("ratchet_selfplay_champion_rating_low", "gauge", "Lower end of its 95% interval",
         r.low if r else None),
        ("ratchet_selfplay_rating_trend", "gauge", "Rating gained per 1000 self-play games "
         f"over the last {PROGRESS_WINDOW} (Elo; its own pool)", p.gain if p else None),
        ("ratchet_selfplay_rating_trend_high", "gauge", "Upper end of its 95% interval "
         "(below 0: the rating is clearly declining)", p.high if p else None),
        ("ratchet_selfplay_ladder_score", "gauge", "The champion's score in the latest "
         "shadow tournament, by rung of the ladder",
         [({"rung": rung}, v["score"]) for rung, v in (s.ladder or {}).get("rungs",
                                                                         {}).items()]),
    ]]


def views(run_dir: Path) -> list[dict[str, Any]]:
    """The dashboard's rating curves: every champion version's Bradley-Terry rating (95%
    interval), uniform random = 0, the MCTS anchors as lines: over the anchor games
    ("Ratings") and over the shadow tournaments' games alone ("Ladder")."""
    from ratchet.core.store import Store
    from ratchet.plugins.targets.selfplay.gamestore import RATING_PURPOSES, GameStore
    from ratchet.plugins.targets.selfplay.tournament import PURPOSE as LADDER

    with Store(run_dir) as store:
        promotions = store.promotions()
        game = (store.run_info() or {})["recipe"]["target"]["game"]
    try:
        games = GameStore(RunDir(run_dir).store)
    except sqlite3.Error:
        return []
    with games:
        rated = games.rated(game, RATING_PURPOSES)
        ladder = games.rated(game, (LADDER,))
    return [*_ratings_card(rated, promotions, "Ratings", "each champion version, "
                            f"Bradley-Terry over {len(rated)} rated games of {game} (each "
                            "champion's fresh matches against the anchors, never the games "
                            "that selected it); uniform random = 0; dashed: the MCTS "
                            "anchors"),
             *_ratings_card(ladder, promotions, "Ladder", "shadow tournaments: each "
                            f"champion version, Bradley-Terry over the {len(ladder)} ladder "
                            "games alone (fresh, never used to select); uniform random = 0; "
                            "dashed: the MCTS rungs")]


def _ratings_card(rated: list[tuple[str, str, float]], promotions: list[dict[str, Any]],
                  title: str, note: str) -> list[dict[str, Any]]:
    from ratchet.plugins.targets.selfplay.ratings import fit

    if not any("random" in (a, b) for a, b, _ in rated):
        return []
    ratings = fit(rated, anchor="random")

    def shown(label: str, name: str) -> dict[str, Any]:
        r = ratings[name]
        return {"label": label, "value": r.elo, "low": r.low, "high": r.high}

    points = [shown(f"v{p['version']}" + (" (revert)" if p["stats"].get("revert") else ""),
                    p["candidate_id"]) for p in promotions if p["candidate_id"] in ratings]
    anchors = [shown(name, name) for name in sorted(ratings) if name.startswith("mcts-")]
    return [{"kind": "intervals", "title": title, "unit": "Elo", "note": note,
             "points": points,
             "references": [{"label": "random", "value": 0.0, "low": 0.0, "high": 0.0},
                            *anchors]}]
