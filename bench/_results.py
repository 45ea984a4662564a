"""Where bench figures go: each script prints them and writes the same text, headed by the
date, the commit, the machine and the command, to ``bench/results/<date>-<name>.md``.

    parser = argparse.ArgumentParser(...)
    add_arguments(parser)
    args = parser.parse_args()
    with recorded("search", "Search: ...", args):
        print(...)  # shown as it comes, and written to the file at the end
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
ROOT = RESULTS.parents[1]


def add_parts(parser: argparse.ArgumentParser, parts: list[str]) -> None:
    """``--parts A,B``: which of a bench's parts run (default: all)."""
    parser.add_argument("--parts", default=",".join(parts),
                        help=f"which parts, comma-separated (default: {','.join(parts)})")


def chosen_parts(parser: argparse.ArgumentParser, args: argparse.Namespace,
                 parts: list[str]) -> set[str]:
    """The parts ``--parts`` named; an unknown one is a usage error (exit 2)."""
    chosen = set(args.parts.split(","))
    unknown = chosen - set(parts)
    if unknown:
        parser.error(f"unknown part {', '.join(sorted(unknown))}: expected "
                     f"{', '.join(parts)}")
    return chosen


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=None,
                        help="write the figures here (default: bench/results/<date>-<name>.md)")
    parser.add_argument("--no-save", action="store_true",
                        help="print the figures only; write no results file")


def commit() -> str:
    """The short commit, with ``+changes`` when the tree differs from it."""
    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                                  timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    sha = git("rev-parse", "--short", "HEAD") or "unknown"
    return sha + ("+changes" if git("status", "--porcelain", "--untracked-files=no") else "")


def machine() -> str:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{platform.node()}: {os.cpu_count()} CPUs{f' ({model})' if model else ''}, "
            f"{platform.platform()}, Python {platform.python_version()}")


def header(name: str, title: str) -> str:
    module = Path(sys.argv[0]).stem if sys.argv and sys.argv[0].endswith(".py") else name
    command = " ".join([f"python -m bench.{module}", *sys.argv[1:]])
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"# {title}\n\n{when} · commit {commit()} · {machine()}\n\n`{command}`\n"


def default_path(name: str) -> Path:
    """bench/results/<date>-<name>.md, or -2, -3, ... when that day already has one."""
    stem = f"{datetime.now(UTC):%Y-%m-%d}-{name}"
    path, n = RESULTS / f"{stem}.md", 1
    while path.exists():
        n += 1
        path = RESULTS / f"{stem}-{n}.md"
    return path


class _Tee(io.TextIOBase):
    def __init__(self, shown: io.TextIOBase) -> None:
        self.shown = shown
        self.kept = io.StringIO()

    def write(self, text: str) -> int:
        self.kept.write(text)
        return self.shown.write(text)

    def flush(self) -> None:
        self.shown.flush()


@contextmanager
def recorded(name: str, title: str, args: argparse.Namespace, *,
             markdown: bool = False) -> Iterator[None]:
    """Print as usual; when the block ends without an error, write what was printed to the
    results file (``--out``; nothing with ``--no-save``): as it is when the script prints
    markdown, else as a preformatted block."""
    tee = _Tee(sys.stdout)  # type: ignore[arg-type]
    sys.stdout = tee  # type: ignore[assignment]
    try:
        yield
    finally:
        sys.stdout = tee.shown  # type: ignore[assignment]
    if getattr(args, "no_save", False):
        return
    path = getattr(args, "out", None) or default_path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    printed = tee.kept.getvalue().rstrip()
    body = printed if markdown else "\n".join(f"    {line}" if line else "" for line in
                                              printed.splitlines())
    path.write_text(f"{header(name, title)}\n{body}\n")
    print(f"figures written to {path}")
