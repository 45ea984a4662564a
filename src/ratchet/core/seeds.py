"""The run's one seed allocator: every evaluation's seed, by role.

A seed is derived from (the run's seed, the role, the cycle, the batch, the shard count),
so a resumed run plays the seeds it would have played, and seeds of different roles come
from different streams: a re-measurement never replays a race's screening games, a
screening round never replays a test's. The promotion test keeps the derivation it always
had (``[run seed, cycle, batch]``), so runs started before the ledger read back as they
were.

Seeds meant to be fresh are also checked against every seed the run has recorded
(``SeedLedger.fresh``): seeds have 31 bits (every benchmark can take them), so a long
run meets collisions; the allocation then moves to the next batch number instead of
replaying games already played.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

#: each role's stream
ROLE_CODES = {"test": 0, "baseline": 1, "remeasure": 2, "screen": 3, "probation": 4,
              "gate": 5, "rating": 6, "calibrate": 7, "confirm": 8}
ROLES = tuple(ROLE_CODES)


def derive(run_seed: int, role: str, cycle: int, batch: int, shards: int = 1,
           attempt: int = 0) -> list[int]:
    """``shards`` seeds for one allocation of ``role``: 31 bits, so that any benchmark
    can take them (``numpy.random.seed`` refuses 2**32 and above). ``attempt`` counts the
    allocations stepped over because they touched a seed already used."""
    if role not in ROLE_CODES:
        raise ValueError(f"unknown seed role {role!r}; expected one of {', '.join(ROLES)}")
    if role == "test" and attempt == 0:  # the promotion test's derivation before the ledger
        key = [run_seed, cycle, batch] + ([shards] if shards > 1 else [])
    else:
        key = [run_seed, 1_000 + ROLE_CODES[role], cycle, batch, shards, attempt]
    words = np.random.SeedSequence(key).generate_state(shards)
    return [int(w >> 1) for w in words]


class SeedLedger:
    """Allocates seeds for one run. ``used`` reads the seeds the run has recorded (asked
    once, on the first allocation); later allocations are remembered here."""

    def __init__(self, run_seed: int, used: Callable[[], Iterable[int]] = tuple):
        self.run_seed = run_seed
        self._read_used = used
        self._used: set[int] | None = None

    def fresh(self, role: str, cycle: int, batch: int, shards: int = 1) -> list[int]:
        """Seeds for one allocation (challenger and champion of a batch share them),
        none used before in the run. The same on every call while the allocation is not
        recorded, so a batch cut off by a crash replays its own seeds."""
        if self._used is None:
            self._used = set(self._read_used())
        attempt = 0
        while True:
            seeds = derive(self.run_seed, role, cycle, batch, shards, attempt)
            if len(set(seeds)) == shards and not self._used.intersection(seeds):
                self._used.update(seeds)
                return seeds
            attempt += 1
