"""The run's store package: the schema and its migrations (the engine's, and those a plugin
declares), the typed rows, keyed state, and the store itself."""

from ratchet.core.store.rows import (
    Champion,
    CycleOutcome,
    DecisionRow,
    EvaluationRow,
    promotion_changes,
)
from ratchet.core.store.schema import MIGRATIONS, PluginSchema
from ratchet.core.store.state import StateKey
from ratchet.core.store.store import Store

__all__ = ["MIGRATIONS", "Champion", "CycleOutcome", "DecisionRow", "EvaluationRow",
           "PluginSchema", "StateKey", "Store", "promotion_changes"]
