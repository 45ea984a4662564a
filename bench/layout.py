"""The layout's figures (issue 41): modules loose at the package root, files per layer,
upward imports (import-linter, type-only imports counted), paths built by hand inside a
run directory outside ``core.rundir``, and modules over 350 lines.

    python -m bench.layout
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "ratchet"
LAYERS = ("apps", "service", "engine", "plugins", "core")
JOIN = re.compile(r"([A-Za-z_][\w.]*(?:\([^()]*\))?)\s*/\s*f?[\"']")
RUN_ROOTS = {"run_dir", "directory", "self.run_dir", "store.run_dir", "home", "scratch"}
WORK_ROOTS = {"workdir", "work_dir", "self.workdir", "self.work_dir", "base", "self.nets"}


def python_files() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "vendor" not in p.parts)


def joins(path: Path) -> list[tuple[int, str, str]]:
    """(line, root expression, text) of every path join with a literal name."""
    found = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        code = line.split("#", 1)[0]
        for match in JOIN.finditer(code):
            found.append((number, match.group(1), line.strip()))
    return found


def main() -> None:
    files = python_files()
    loose = [p.name for p in PACKAGE.glob("*.py")]
    print(f"modules at the package root: {len(loose)} ({', '.join(sorted(loose))})")
    for layer in LAYERS:
        count = sum(1 for p in files if p.relative_to(PACKAGE).parts[0] == layer)
        print(f"files in {layer}/: {count}")
    linted = subprocess.run([str(Path(sys.executable).parent / "lint-imports")], cwd=ROOT,
                            capture_output=True, text=True)
    verdicts = [line for line in linted.stdout.splitlines()
                if " KEPT" in line or " BROKEN" in line]
    print("import contracts:", "; ".join(verdicts) or linted.stdout[-500:])
    run_paths, plugin_paths = [], []
    for path in files:
        if path.relative_to(PACKAGE).as_posix() == "core/rundir.py":
            continue
        for number, root, text in joins(path):
            where = f"{path.relative_to(ROOT)}:{number}: {text}"
            if root in RUN_ROOTS or root.startswith(("RunDir(", "Path(run_dir")):
                run_paths.append(where)
            elif root in WORK_ROOTS:
                plugin_paths.append(where)
    print(f"paths built by hand inside a run directory, outside core/rundir.py: "
          f"{len(run_paths)}")
    for where in run_paths:
        print("  " + where)
    print(f"files a plugin keeps under its own working directory (its own names): "
          f"{len(plugin_paths)}")
    big = sorted(((len(p.read_text().splitlines()), p) for p in files), reverse=True)
    over = [(n, p) for n, p in big if n > 350]
    print(f"modules over 350 lines: {len(over)}" + "".join(
        f"\n  {p.relative_to(ROOT)}: {n}" for n, p in over))
    print(f"largest: {big[0][1].relative_to(ROOT)} ({big[0][0]} lines)")


if __name__ == "__main__":
    main()
