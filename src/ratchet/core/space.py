"""Typed parameters with safe ranges. Validation here *is* the safety validator."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ratchet.core.errors import SpaceError

PARAM_TYPES = ("int", "float", "logfloat", "categorical", "bool")


@dataclass(frozen=True)
class Param:
    """One tunable value. ``name`` may be dotted (``weights.food``) to address nested config."""

    name: str
    type: str
    low: float | None = None
    high: float | None = None
    choices: tuple[Any, ...] = ()

    def __post_init__(self) -> None:
        if self.type not in PARAM_TYPES:
            raise SpaceError(f"{self.name}: type {self.type!r} is unknown; expected one of "
                             f"{', '.join(PARAM_TYPES)}")
        if self.is_numeric:
            if self.low is None or self.high is None:
                raise SpaceError(f"{self.name}: a {self.type} parameter needs both low and high")
            if not (math.isfinite(self.low) and math.isfinite(self.high)):
                raise SpaceError(f"{self.name}: low and high must be finite numbers")
            if not self.low < self.high:
                raise SpaceError(f"{self.name}: low ({self.low}) must be below high ({self.high})")
            if not math.isfinite(self.high - self.low) or abs(self.low) > 1e300 \
                    or abs(self.high) > 1e300:
                raise SpaceError(f"{self.name}: the range {self.low:g} .. {self.high:g} is too "
                                 "wide to search (keep |low| and |high| below 1e300)")
            if self.type == "logfloat" and self.low <= 0:
                raise SpaceError(f"{self.name}: a logfloat needs low > 0, got {self.low}")
            if self.type == "int" and (self.low != int(self.low) or self.high != int(self.high)):
                raise SpaceError(f"{self.name}: an int parameter needs whole-number bounds")
        if self.type == "categorical" and len(self.choices) < 2:
            raise SpaceError(f"{self.name}: a categorical parameter needs at least two choices")

    @property
    def is_numeric(self) -> bool:
        return self.type in ("int", "float", "logfloat")

    @property
    def middle(self) -> Any:
        """The middle of a numeric range: geometric for a logfloat (``C`` in [1e-3, 1e3]
        starts at 1, not 500)."""
        if self.type == "logfloat":
            return self.clip(math.sqrt(self.low * self.high))  # type: ignore[operator]
        return self.clip((self.low + self.high) / 2)  # type: ignore[operator]

    @property
    def options(self) -> tuple[Any, ...]:
        """The finite set of values of a categorical or bool parameter."""
        return (False, True) if self.type == "bool" else self.choices

    def validate(self, value: Any) -> Any:
        """Return ``value`` in its canonical type, or raise a SpaceError that says why not."""
        if self.type == "bool":
            if isinstance(value, bool):
                return value
            raise SpaceError(f"{self.name}: {value!r} is not a boolean (expected true or false)")
        if self.type == "categorical":
            if value in self.choices:
                return value
            raise SpaceError(f"{self.name}: {value!r} is not one of {list(self.choices)}")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise SpaceError(f"{self.name}: {value!r} is not a number")
        if isinstance(value, float) and not math.isfinite(value):
            raise SpaceError(f"{self.name}: {value!r} is not a finite number")
        if self.type == "int":
            if value != int(value):
                raise SpaceError(f"{self.name}: {value!r} is not a whole number")
            value = int(value)
        else:
            value = float(value)
        if value < self.low:  # type: ignore[operator]
            raise SpaceError(f"{self.name}: {value} is below the minimum {_fmt(self.low)}")
        if value > self.high:  # type: ignore[operator]
            raise SpaceError(f"{self.name}: {value} is above the maximum {_fmt(self.high)}")
        return value

    def clip(self, value: float) -> Any:
        """Nearest valid value to a numeric proposal: rounded to an int, or for floats to
        about 1e-4 of the range (so config files stay readable)."""
        clipped = min(max(value, self.low), self.high)  # type: ignore[type-var]
        if self.type == "int":
            return int(round(clipped))
        if self.type == "float":
            digits = 4 - math.floor(math.log10(self.high - self.low))  # type: ignore[operator]
            return float(min(max(round(clipped, digits), self.low), self.high))
        return float(clipped)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type}
        if self.is_numeric:
            out.update(low=self.low, high=self.high)
        if self.type == "categorical":
            out["choices"] = list(self.choices)
        return out

    @classmethod
    def from_dict(cls, name: str, spec: Mapping[str, Any]) -> Param:
        if not isinstance(spec, Mapping):
            raise SpaceError(f"{name}: expected a mapping like {{type: float, low: 0, high: 1}}")
        unknown = set(spec) - {"type", "low", "high", "choices"}
        if unknown:
            raise SpaceError(f"{name}: unknown keys {sorted(unknown)}; "
                             "expected type, low, high, choices")
        kind = spec.get("type")
        if kind is None:
            raise SpaceError(f"{name}: missing 'type'; expected one of {', '.join(PARAM_TYPES)}")
        for bound in ("low", "high"):
            if bound in spec and (isinstance(spec[bound], bool)
                                  or not isinstance(spec[bound], int | float)):
                raise SpaceError(f"{name}: {bound} must be a number, got {spec[bound]!r}")
        choices = spec.get("choices", ())
        if not isinstance(choices, list | tuple):
            raise SpaceError(f"{name}: choices must be a list")
        return cls(name=name, type=kind, low=spec.get("low"), high=spec.get("high"),
                   choices=tuple(choices))


def _fmt(x: float | None) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


@dataclass(frozen=True)
class Space:
    """An ordered set of parameters."""

    params: tuple[Param, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        names = [p.name for p in self.params]
        dupes = {n for n in names if names.count(n) > 1}
        if dupes:
            raise SpaceError(f"parameters defined twice: {sorted(dupes)}")

    def __iter__(self) -> Iterator[Param]:
        return iter(self.params)

    def __len__(self) -> int:
        return len(self.params)

    def __getitem__(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.params]

    def validate(self, values: Mapping[str, Any], *, partial: bool = False) -> dict[str, Any]:
        """Check every value; unknown names and (unless ``partial``) missing names are errors."""
        unknown = set(values) - set(self.names)
        if unknown:
            raise SpaceError(f"unknown parameters {sorted(unknown)}; the space has {self.names}")
        if not partial:
            missing = [n for n in self.names if n not in values]
            if missing:
                raise SpaceError(f"missing values for parameters {missing}")
        return {p.name: p.validate(values[p.name]) for p in self.params if p.name in values}

    def to_dict(self) -> dict[str, dict[str, Any]]:
        return {p.name: p.to_dict() for p in self.params}

    @classmethod
    def from_dict(cls, spec: Mapping[str, Mapping[str, Any]]) -> Space:
        return cls(tuple(Param.from_dict(name, s) for name, s in spec.items()))
