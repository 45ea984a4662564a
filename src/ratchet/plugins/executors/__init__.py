"""Executors: where evaluations run."""

from ratchet.plugins.executors._base import EvalResult, Executor, evaluate_safely
from ratchet.plugins.executors.inline import InlineExecutor
from ratchet.plugins.executors.processes import ProcessesExecutor

__all__ = ["EvalResult", "Executor", "InlineExecutor", "ProcessesExecutor",
           "evaluate_safely"]
