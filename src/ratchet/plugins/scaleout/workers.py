"""Workers a target keeps running beside the loop (self-play): the plan a target gives,
the worker's link to the loop, and the loop's handle on the group an executor started."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class WorkerPlan:
    """Workers a target keeps running beside the loop (self-play): ``count`` of them,
    each running ``main(link, index, *args)`` (a module-level function) until its link
    says stop. The executor places them (processes on this machine, Ray actors on a
    cluster); they share no disk with the loop: what they need comes through the link."""

    count: int
    main: Callable[..., None]
    args: tuple[Any, ...] = ()
    name: str = "worker"


class WorkerLink(Protocol):
    """A worker's side: the newest message the loop published, results sent back."""

    def latest(self) -> Any:
        """The newest message published to the workers (None before the first)."""

    def send(self, item: Any) -> None:
        """Hand a result to the loop (lost if the worker dies before it is received)."""

    def stopped(self) -> bool:
        """True once the loop asked the workers to stop, or is gone."""

    def retiring(self) -> bool:
        """True once the loop asked this worker to finish its batch in play and end."""

    def node(self) -> str:
        """The node the worker runs on (its host name; on Ray, with the node's id)."""


class WorkerGroup(Protocol):
    """The loop's side of the workers an executor started."""

    def publish(self, message: Any) -> None:
        """Send every worker, and any worker started later, the newest message."""

    def receive(self, timeout: float) -> list[Any]:
        """What the workers sent since the last call (waits up to ``timeout`` for the
        first item); a worker found dead is started again, and ``{"worker_lost": index}``
        says so among the items (what it had in play is lost)."""

    def stop(self) -> None:
        """Stop the workers; what they sent before stopping can still be received."""

    def resize(self, count: int) -> None:
        """Run ``count`` workers: start more, or retire the newest (each finishes and
        sends its batch in play first)."""

    @property
    def count(self) -> int:
        """Workers running (not retiring)."""

    @property
    def restarts(self) -> int:
        """Workers started again after they died."""

    def nodes(self) -> dict[str, int]:
        """The nodes workers can run on (alive), with the number each runs."""

    def measure_nodes(self) -> dict[str, dict[str, float]]:
        """Each alive node's utilization now (``controllers.measure``), measured on that
        node; a node that does not answer is left out."""

    def resize_node(self, node: str, count: int) -> None:
        """Run ``count`` workers on ``node``."""
