"""Read-only views of a run: the champion's standing, cycle history rows, export lines."""

from __future__ import annotations

import time
from typing import Any

from ratchet.core.atomic import atomic_write_json, json_bytes
from ratchet.core.filewriter import LiveFiles
from ratchet.core.rundir import RunDir
from ratchet.core.stats import estimate_from_moments
from ratchet.core.store import Store


def champion_summary(store: Store) -> dict[str, Any]:
    """The champion with its score measured while champion. Right after a promotion, before
    any re-measurement, the score comes from the promoting evidence and is marked
    provisional (it is biased upward: it won a selection)."""
    champ = store.champion()
    moments = store.score_moments(champ.candidate.id, ("baseline", "champion"))
    provisional = False
    if moments[0] == 0:
        moments = store.score_moments(champ.candidate.id, ("challenger",))
        provisional = moments[0] > 0
    est = estimate_from_moments(*moments)
    promotions = store.promotions()
    return {"name": (store.run_info() or {}).get("name"), "version": champ.version,
            "candidate": champ.candidate.id, "params": champ.candidate.params,
            "origin": champ.candidate.origin, "cycle": champ.cycle,
            "promoted_at": champ.promoted_at,
            "score": _finite(est.to_dict()), "provisional": provisional,
            "promotion": promotions[-1]["stats"] if champ.version else {},
            "promotions": len(promotions) - 1, "cycles": store.last_cycle()}


def write_champion_file(store: Store, *, durable: bool = True,
                        files: LiveFiles | None = None) -> dict[str, Any]:
    """``durable=False`` when only the champion's score moved (after every cycle): the
    file is still never half-written, but synced to disk only when the champion changes.
    With the loop's ``files``, that write is left to their thread."""
    summary = champion_summary(store)
    summary["updated_at"] = time.time()
    path = RunDir(store.run_dir).champion
    if files is None:
        atomic_write_json(path, summary, durable=durable)
    elif durable:
        files.write_now(path, json_bytes(summary))
    else:
        files.write(path, json_bytes(summary))
    return summary


def _finite(d: dict[str, Any]) -> dict[str, Any]:
    return {k: (v if not isinstance(v, float) or v == v and abs(v) != float("inf") else None)
            for k, v in d.items()}
