"""The recipe reference (docs/recipes.md), generated from the specs themselves: every key of
every section and of every registered kind, with its type, default and description, so
the page cannot drift from the code. ``python -m ratchet.apps.reference > docs/recipes.md``.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from ratchet.core.registry import FAMILIES
from ratchet.engine.recipe import (
    Budget,
    ConfigurationSpec,
    CurriculumSpec,
    DashboardSpec,
    Racing,
    Schedule,
)

HEADER = """# Recipe reference

Generated from the code by `python -m ratchet.apps.reference` (a test checks that this page
is current). A recipe is one YAML file; `ratchet run RECIPE` validates it and names the
key and what was expected when something is wrong.

Top-level keys: `name` (letters, digits, `.`, `_`, `-`), `seed` (default 0), `space`,
`target`, `strategy` (default tpe), `judge`, `gates`, `schedule`, `executor`
(default inline), `racing` (default on where it applies), `dashboard`, `configurations` and
`curriculum` (several configurations in one run).

`configurations:` lists `{name: NAME, KEY: VALUE, ...}`: each is a run of its own under
`RUN_DIR/configurations/NAME`, with the `target` section's keys changed as given (e.g.
`game`), its own champion, history and (self-play) rating pool; one daemon runs them
all. `curriculum:` then shares the worker slots among them by each one's progress in its
own terms (`ratchet.plugins.scaleout.curriculum`).

`space:` maps each parameter (a dotted key into the config file, for a command target)
to `{type: float|logfloat|int, low, high}`, `{type: categorical, choices: [...]}` or
`{type: bool}`.

Besides the kinds below, `kind: "package.module:Name"` names a class by import path: a
`ratchet.Spec` subclass (the section's keys are its fields), or a `Target`, `Strategy` or
`Executor` subclass, whose constructor receives the section's other keys (a strategy also
gets the space, the seed and the direction; a target's section also takes `outcome` and
`direction`).
"""


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return " \\| ".join(str(v) for v in typing.get_args(annotation))
    if origin in (typing.Union, types.UnionType):
        return " \\| ".join(_type_name(a) for a in typing.get_args(annotation))
    if origin is not None:
        args = ", ".join(_type_name(a) for a in typing.get_args(annotation))
        return f"{getattr(origin, '__name__', str(origin))}[{args}]"
    if annotation is type(None):
        return "null"
    return getattr(annotation, "__name__", str(annotation))


def _default(field: FieldInfo) -> str:
    if field.default_factory is not None:
        value = field.default_factory()  # type: ignore[call-arg]
    elif field.default is PydanticUndefined:
        return "required"
    else:
        value = field.default
    if isinstance(value, BaseModel):
        return "see below"
    return f"`{value!r}`" if value not in (None, "") else ("none" if value is None else "`''`")


_BOUNDS = (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<="))


def _bounds(field: FieldInfo) -> str:
    found = [f"{sign} {getattr(m, attr)}" for m in field.metadata
             for attr, sign in _BOUNDS if getattr(m, attr, None) is not None]
    return f", {' and '.join(found)}" if found else ""


def _rows(model: type[BaseModel]) -> Iterator[str]:
    for name, field in model.model_fields.items():
        if name == "kind" or field.exclude:
            continue
        description = (field.description or "").replace("\n", " ").replace("|", "\\|")
        yield (f"| `{name}` | {_type_name(field.annotation)}{_bounds(field)} | "
               f"{_default(field)} | {description} |")


def _table(model: type[BaseModel]) -> list[str]:
    rows = list(_rows(model))
    if not rows:
        return ["No keys but `kind`.", ""]
    return ["| key | type | default | what it is |", "|---|---|---|---|", *rows, ""]


def _doc(model: type[Any]) -> str:
    return " ".join((model.__doc__ or "").split())


def render() -> str:
    lines = [HEADER]
    for name, family in FAMILIES.items():
        lines += [f"## `{'gates: [...]' if name == 'gate' else name + ':'}`", ""]
        for spec in family.specs():
            kinds = ", ".join(f"`{k}`" for k in family.kinds()
                              if family.spec(k) is spec)
            lines += [f"### kind: {kinds}", "", _doc(spec), "", *_table(spec)]
    for key, model in (("schedule", Schedule),
                       ("schedule.budget", Budget), ("racing", Racing),
                       ("dashboard", DashboardSpec), ("configurations[]", ConfigurationSpec),
                       ("curriculum", CurriculumSpec)):
        lines += [f"## `{key}:`", "", *_table(model)]
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":
    print(render(), end="")
