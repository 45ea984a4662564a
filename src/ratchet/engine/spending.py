"""When a run has spent its budget (``schedule.budget``): games or runs measured, every
role counted, and seconds of loop time over every start. A step is refused when it would
overrun the budget by more than one batch of a promotion test: each batch starts only
while budget is left, and a step larger than a batch (a race's round) must fit what is
left and a batch; in seconds, a round is estimated at this start's time per game or run."""

from __future__ import annotations

import logging
import time

from ratchet.core.store import StateKey, Store
from ratchet.engine.recipe import Budget

log = logging.getLogger("ratchet.loop")

SECONDS_RUN = StateKey("schedule.seconds_run", float)  # the loop's time over every start


class Spending:
    def __init__(self, store: Store, budget: Budget | None, batch_cost: int):
        self.store = store
        self.budget = budget
        self.batch_cost = batch_cost  # games or runs one test batch measures, both sides
        self.spent: str | None = None  # why the run ended on its budget
        self._seconds_before = 0.0
        self._measured_before = 0
        self._started = time.monotonic()

    def start(self) -> None:
        """At the loop's start: the time and measurements of earlier starts."""
        self._seconds_before = float(self.store.get(SECONDS_RUN) or 0.0)
        self._measured_before = self.store.measured()
        self._started = time.monotonic()

    def allows(self, cost: int = 0) -> bool:
        """False once the budget is spent (said once, in the log and events)."""
        if self.spent is not None or self.budget is None:
            return self.spent is None
        reason = self._measurements(cost) or self._seconds(cost)
        if reason is None:
            return True
        log.info("%s: ending the run", reason)
        self.store.event("budget_spent", reason)
        self.spent = reason
        return False

    def _measurements(self, cost: int) -> str | None:
        budget = self.budget
        if budget is None or budget.measurements is None:
            return None
        used = self.store.measured()
        if used >= budget.measurements:
            return f"budget spent: {used} {budget.unit} measured of {budget.measurements}"
        if used + cost > budget.measurements + self.batch_cost:
            return (f"budget spent: {used} {budget.unit} measured of {budget.measurements}; "
                    f"the next race round ({cost}) does not fit (the race's cycles stay "
                    "pending)")
        return None

    def _seconds(self, cost: int) -> str | None:
        budget = self.budget
        if budget is None or budget.seconds is None:
            return None
        seconds = self.seconds_used()
        if seconds >= budget.seconds:
            return f"budget spent: {seconds:.0f} s of {budget.seconds:g} s"
        if cost <= self.batch_cost:  # a test's batch: started while time is left
            return None
        measured = self.store.measured() - self._measured_before
        rate = (seconds - self._seconds_before) / measured if measured else 0.0
        if seconds + cost * rate > budget.seconds + self.batch_cost * rate:
            return (f"budget spent: {seconds:.0f} s of {budget.seconds:g} s; the next race "
                    f"round (about {cost * rate:.0f} s) does not fit (the race's cycles "
                    "stay pending)")
        return None

    def seconds_used(self) -> float:
        return self._seconds_before + time.monotonic() - self._started

    def record_seconds(self) -> None:
        """Committed only for a budget in seconds (one write per cycle saved otherwise)."""
        if self.budget is not None and self.budget.seconds:
            self.store.put(SECONDS_RUN, round(self.seconds_used(), 3))
