"""A self-play configuration's progress in its own pool, for the curriculum: the rating
its champions gained per 1,000 self-play games over the last ``window`` games, with a
95% interval, and its trend before that window."""

from __future__ import annotations

import math

from ratchet.plugins.scaleout.curriculum import Progress
from ratchet.plugins.targets.selfplay.gamestore import RATING_PURPOSES, GameStore
from ratchet.plugins.targets.selfplay.ratings import Rating, fit

MIN_GAMES = 50  # fewer self-play games: not measured


def measure_progress(games: GameStore, config: str, window: int,
                     ratings: dict[str, Rating] | None = None) -> Progress | None:
    """The champion that played the newest game against the one that played the game
    ``window`` games earlier (and that one against the first game's, for the trend),
    rated by one Bradley-Terry fit over the pool. The interval of a difference treats the
    two ratings as independent, which overstates it for ratings linked by a chain of
    promotion tests: the curriculum acts only on clearer evidence. ``ratings``: the
    pool's fit when the caller has it already."""
    total = games.count(config)
    if total < MIN_GAMES:
        return None
    span = min(window, total - 1)

    def version_at(offset: int) -> int:
        row = games.conn.execute("SELECT version FROM selfplay_games WHERE config = ? "
                                 "ORDER BY id LIMIT 1 OFFSET ?", (config, offset)).fetchone()
        return int(row[0])

    by_version = dict(games.conn.execute("SELECT version, candidate_id FROM "
                                         "selfplay_networks WHERE version IS NOT NULL"))
    first, then, now = (by_version.get(version_at(k)) for k in (0, total - 1 - span,
                                                                 total - 1))
    if ratings is None:
        rated = games.rated(config, RATING_PURPOSES)
        anchor = "random" if any("random" in (a, b) for a, b, _ in rated) else first
        ratings = fit(rated, anchor=anchor or "start") if rated else {}

    def difference(a: str | None, b: str | None) -> tuple[float, float] | None:
        """(b - a, standard error) in Elo, 0 for one and the same network."""
        if a == b:
            return 0.0, 0.0
        if a not in ratings or b not in ratings:
            return None
        ra, rb = ratings[a], ratings[b]
        se = math.hypot((ra.high - ra.low) / 3.92, (rb.high - rb.low) / 3.92)
        return rb.elo - ra.elo, se

    recent = difference(then, now)
    if recent is None:
        return None
    per = 1000.0 / span
    earlier = total - 1 - span
    before = difference(first, then) if earlier >= MIN_GAMES else None
    return Progress(gain=recent[0] * per, low=(recent[0] - 1.96 * recent[1]) * per,
                    high=(recent[0] + 1.96 * recent[1]) * per,
                    trend=before[0] * 1000.0 / earlier if before else None, games=span,
                    trend_low=(before[0] - 1.96 * before[1]) * 1000.0 / earlier
                    if before else None)
