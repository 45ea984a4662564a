"""The gate family: checks a challenger the judge passed must also pass to be promoted."""

from ratchet.plugins.gates._base import Gate, GateResult, TargetChecks, run_gates

__all__ = ["Gate", "GateResult", "TargetChecks", "run_gates"]
