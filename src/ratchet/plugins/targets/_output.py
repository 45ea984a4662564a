"""Parse what a benchmark prints: one JSON object, or ``name: value`` lines."""

from __future__ import annotations

import json
import math
import re
from typing import Any

from ratchet.core.errors import EvaluationError
from ratchet.core.types import Measurement

_LINE = re.compile(r"^\s*([A-Za-z_][\w.\-]*)\s*[:=]\s*(.+?)\s*$")
_SCORE_LETTERS = {"W": 1.0, "D": 0.5, "L": 0.0}


def parse_fields(text: str) -> dict[str, list[Any]]:
    """Every field the output names, each with all the values it was given, in order."""
    for candidate in (text.strip(), *reversed(text.strip().splitlines())):
        if candidate.startswith("{"):
            try:
                obj = json.loads(candidate)
            except json.JSONDecodeError:
                continue
            if isinstance(obj, dict):
                return {k: (v if isinstance(v, list) else [v]) for k, v in obj.items()}
    fields: dict[str, list[Any]] = {}
    for line in text.splitlines():
        m = _LINE.match(line)
        if m:
            fields.setdefault(m.group(1), []).append(_number_or_text(m.group(2)))
    return fields


def _number_or_text(raw: str) -> Any:
    try:
        return int(raw)
    except ValueError:
        pass
    try:
        return float(raw)
    except ValueError:
        return raw


def printed(text: str) -> str:
    """What the benchmark printed, as a short quote for an error message."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if not lines:
        return "it printed nothing"
    more = f" (and {len(lines) - 1} more lines)" if len(lines) > 1 else ""
    return f"its first line was {lines[0][:120]!r}{more}"


def _count(fields: dict[str, list[Any]], name: str, required: bool, text: str = "") -> int:
    if name not in fields:
        if required:
            raise EvaluationError(f"benchmark output has no '{name}:' line; expected "
                                  "'wins: N', 'draws: N' and 'losses: N' lines (or one JSON "
                                  f"object with them); {printed(text)}")
        return 0
    value = fields[name][-1]
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0 \
            or value != int(value):
        raise EvaluationError(f"benchmark output '{name}: {value}' is not a count")
    return int(value)


def games_measurement(text: str, cost_s: float) -> Measurement:
    fields = parse_fields(text)
    wins, draws, losses = (_count(fields, k, True, text) for k in ("wins", "draws", "losses"))
    errors = _count(fields, "errors", False) + _count(fields, "timeouts", False)
    ordered = _ordered_outcomes(fields.get("outcomes"))
    if ordered is not None:
        if (sum(s == 1.0 for s in ordered), sum(s == 0.5 for s in ordered),
                sum(s == 0.0 for s in ordered)) != (wins, draws, losses):
            raise EvaluationError("benchmark 'outcomes' do not match its wins/draws/losses")
        return Measurement("games", tuple(ordered), ordered=True, errors=errors, cost_s=cost_s)
    scores = (1.0,) * wins + (0.5,) * draws + (0.0,) * losses
    if not scores:
        raise EvaluationError(f"benchmark played no valid game ({errors} errors)")
    return Measurement("games", scores, errors=errors, cost_s=cost_s)


def _ordered_outcomes(raw: list[Any] | None) -> list[float] | None:
    if not raw:
        return None
    if len(raw) == 1 and isinstance(raw[0], str):
        letters = raw[0].replace(" ", "").upper()
        if set(letters) <= set(_SCORE_LETTERS):
            return [_SCORE_LETTERS[c] for c in letters]
        raise EvaluationError(f"benchmark 'outcomes' must be letters W, D, L; got {raw[0]!r}")
    if all(v in (0, 0.5, 1) and not isinstance(v, bool) for v in raw):
        return [float(v) for v in raw]
    raise EvaluationError("benchmark 'outcomes' must be scores 0, 0.5 or 1")


def samples_measurement(text: str, metric: str, cost_s: float) -> Measurement:
    fields = parse_fields(text)
    if metric not in fields:
        named = (f"it printed {', '.join(sorted(fields))}: {printed(text)}" if fields
                 else printed(text))
        raise EvaluationError(f"benchmark output has no '{metric}' value; expected a line "
                              f"'{metric}: NUMBER' (or a JSON object with it); {named}")
    values = []
    for v in fields[metric]:
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise EvaluationError(f"benchmark '{metric}: {v}' is not a finite number")
        values.append(float(v))
    metrics = {k: float(v[-1]) for k, v in fields.items()
               if k != metric and v and isinstance(v[-1], int | float)
               and not isinstance(v[-1], bool)}
    return Measurement("samples", tuple(values), cost_s=cost_s, metrics=metrics)
