"""Read and write parameters at dotted keys of a YAML or JSON config file, keeping the rest
of the file (YAML comments and key order included)."""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from ratchet.core.atomic import atomic_write_text
from ratchet.core.errors import RatchetError


class ConfigFileError(RatchetError):
    pass


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    return yaml


def is_json(path: Path) -> bool:
    return path.suffix.lower() == ".json"


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigFileError(f"config file {path} does not exist") from None
    except OSError as exc:
        raise ConfigFileError(f"config file {path} cannot be read: {exc.strerror}") from None


def load(path: Path, text: str | None = None) -> Any:
    """Parse ``text`` (or the file's) as the format ``path`` names."""
    text = read_text(path) if text is None else text
    try:
        data = json.loads(text) if is_json(path) else _yaml().load(text)
    except json.JSONDecodeError as exc:
        raise ConfigFileError(f"config file {path} is not valid JSON (line {exc.lineno}, "
                              f"column {exc.colno}): {exc.msg}") from None
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigFileError(f"config file {path} is not valid YAML{at}: {problem}") from None
    if not isinstance(data, Mapping):
        raise ConfigFileError(f"config file {path} must hold a mapping at the top level")
    return data


def get(data: Any, dotted: str) -> Any:
    node = data
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            raise KeyError(dotted)
        node = node[part]
    return node


def set_values(data: Any, values: Mapping[str, Any]) -> None:
    for dotted, value in values.items():
        *parents, leaf = dotted.split(".")
        node = data
        for part in parents:
            if part not in node or not isinstance(node[part], Mapping):
                node[part] = {}
            node = node[part]
        node[leaf] = value


def dump(data: Any, path: Path) -> str:
    if is_json(path):
        return json.dumps(data, indent=2) + "\n"
    buf = io.StringIO()
    _yaml().dump(data, buf)
    return buf.getvalue()


def write_with(source: Path, dest: Path, values: Mapping[str, Any]) -> None:
    """Write ``source`` with ``values`` set at their dotted keys to ``dest``, atomically."""
    write_text_with(read_text(source), dest, values)


def render_with(template: str, dest: Path, values: Mapping[str, Any]) -> str:
    """The text of ``template`` (in ``dest``'s format) with ``values`` set."""
    data = load(dest, template)
    set_values(data, values)
    return dump(data, dest)


def write_text_with(template: str, dest: Path, values: Mapping[str, Any]) -> None:
    """Like write_with, from the config's text instead of its file."""
    text = render_with(template, dest, values)
    dest.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(dest, text)


def read_values(path: Path, names: list[str]) -> dict[str, Any]:
    data = load(path)
    out = {}
    for name in names:
        try:
            out[name] = get(data, name)
        except KeyError:
            raise ConfigFileError(f"config file {path} has no key {name!r} "
                                  "(every parameter of the space must be in it)") from None
    return out


def write_with_new(dest: Path, values: Mapping[str, Any]) -> None:
    """A fresh config holding only ``values`` (for targets without a live config file)."""
    data: dict[str, Any] = {}
    set_values(data, values)
    atomic_write_text(dest, dump(data, dest))
