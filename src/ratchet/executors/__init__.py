"""Executors: where evaluations run."""

from ratchet.executors._base import EvalResult, Executor, evaluate_safely
from ratchet.executors.inline import InlineExecutor
from ratchet.executors.processes import ProcessesExecutor

__all__ = ["EvalResult", "Executor", "InlineExecutor", "ProcessesExecutor",
           "evaluate_safely"]
