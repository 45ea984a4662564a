"""What `ratchet status` shows of a self-play run: games, training, the champion's
rating in its pool, probation."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

RATE_WINDOW_S = 600.0


def report(run_dir: Path) -> dict[str, Any]:
    from ratchet.store import Store
    from ratchet.targets.selfplay.gamestore import GameStore
    from ratchet.targets.selfplay.ratings import fit

    with Store(run_dir) as store:
        champion = store.champion().candidate.id
        game = (store.run_info() or {})["recipe"]["target"]["game"]
    try:
        games = GameStore(run_dir / "ratchet.db")
    except sqlite3.Error:
        return {}
    with games:
        played = games.count(game)
        recent = games.conn.execute(
            "SELECT COUNT(*) FROM selfplay_games WHERE config = ? AND created_at > ?",
            (game, time.time() - RATE_WINDOW_S)).fetchone()[0]
        pending = games.count(game, int(games.meta("last_trained_game_id", "0") or 0))
        trained = games.conn.execute("SELECT COUNT(*) FROM selfplay_networks").fetchone()[0]
        recorded = games.network(champion)
        rated = games.rated(game)
        verdicts = [v for (v,) in games.conn.execute(
            "SELECT value FROM selfplay_meta WHERE key LIKE 'probation:%'")]
    out: dict[str, Any] = {
        "self-play games": f"{played} ({recent / RATE_WINDOW_S:.2f}/s over the last "
                           f"{RATE_WINDOW_S / 60:.0f} minutes), {pending} pending training",
        "training runs": max(trained - 1, 0)}
    version = f"v{recorded[1]}" if recorded and recorded[1] is not None else "v?"
    ratings = fit(rated, anchor="random") if rated else {}
    mine = ratings.get(champion)
    if mine is not None and "random" in {p for a, b, _ in rated for p in (a, b)}:
        out["champion network"] = (f"{version}, rated {mine.elo:+.0f} [{mine.low:+.0f}, "
                                   f"{mine.high:+.0f}] against uniform random (0) over "
                                   f"{len(rated)} rated games in its pool")
    else:
        out["champion network"] = f"{version} (not rated against the anchors yet)"
    if verdicts:
        out["probation"] = (f"{sum(v.startswith('passed') for v in verdicts)} passed, "
                            f"{sum(v.startswith('reverted') for v in verdicts)} reverted")
    return out
