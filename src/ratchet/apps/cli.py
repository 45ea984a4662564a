"""The `ratchet` command. Every command calls a library function; a user mistake is one
clear message and exit code 2, never a traceback."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ratchet.apps.cartpole.cli import app as cartpole_app
from ratchet.apps.options import (
    AdoptOpt,
    JsonOpt,
    NameOpt,
    RestoreChampionOpt,
    RunDirOpt,
    err,
    fail,
    out,
)
from ratchet.apps.record import register as register_record_commands
from ratchet.apps.sysctl.cli import app as sysctl_app
from ratchet.apps.sysctl.cli import tune_os
from ratchet.core import terminal
from ratchet.core.errors import NO_ROOM, RatchetError, no_room_message
from ratchet.core.rundir import (
    RunDir,
    check_name,
    existing_runs,
    resolve_run_dir,
)
from ratchet.core.store import Store
from ratchet.core.version import __version__
from ratchet.engine.summary import champion_summary
from ratchet.service.commands import register as register_service_commands

if TYPE_CHECKING:  # the heavy modules load only for the commands that need them
    from ratchet.engine.loop import LoopSummary
    from ratchet.engine.runner import RunOptions

app = typer.Typer(add_completion=True, no_args_is_help=True, rich_markup_mode=None,
                  help="ratchet: holds a champion, measures challengers, promotes only what "
                       "is proven better.")
def run_options(adopt: bool, restore_champion: bool) -> RunOptions:
    from ratchet.engine.runner import RunOptions

    if adopt and restore_champion:
        fail("--adopt and --restore-champion exclude each other: pick one")
    return RunOptions(hand_edit="adopt" if adopt else "restore" if restore_champion
                      else "refuse")


@app.command()
def run(recipe: Annotated[Path, typer.Argument(help="recipe YAML, e.g. recipes/snake.yaml")],
        max_cycles: Annotated[int | None, typer.Option("--max-cycles", min=1,
                                                        help="stop after N cycles: N "
                                                        "candidates decided (a race is cut "
                                                        "to the cycles left)")] = None,
        run_dir: RunDirOpt = None, name: NameOpt = None,
        quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no live display (warnings "
                                            "and errors still go to stderr)")] = False,
        supervise: Annotated[bool, typer.Option("--supervise", help="restart after a crash, "
                                                "with exponential back-off")] = False,
        adopt: AdoptOpt = False, restore_champion: RestoreChampionOpt = False,
        as_json: Annotated[bool, typer.Option("--json", help="no display; print the run's "
                                              "outcome as JSON on stdout")] = False,
        detached: Annotated[bool, typer.Option("--detached", hidden=True)] = False,
        ) -> None:
    """Run the improvement loop in the foreground until Ctrl+C or --max-cycles.

    Exits 0 when stopped or done, 1 when every cycle failed, 2 on a user mistake (a bad
    recipe, a live file held by another run or edited by hand), 75 when the store cannot
    be written (a full disk: try again later)."""
    from ratchet.apps.dashboard import serve_run
    from ratchet.apps.display import RunDisplay, with_champion
    from ratchet.engine.recipe import load_recipe
    from ratchet.engine.runner import warnings_to_stderr
    from ratchet.service.daemon import serve

    options = run_options(adopt, restore_champion)
    parsed = load_recipe(recipe)
    if name:
        parsed = parsed.model_copy(update={"name": check_name(name)})
    directory = resolve_run_dir(run_dir, parsed.name)
    if supervise:
        from ratchet.service.supervise import supervise as run_supervised

        args = [str(recipe), "--run-dir", str(directory)] + (["--quiet"] if quiet else [])
        args += ["--max-cycles", str(max_cycles)] if max_cycles else []
        args += ["--name", name] if name else []
        args += ["--adopt"] if adopt else ["--restore-champion"] if restore_champion else []
        raise typer.Exit(run_supervised(args, say=lambda m: err.print(m)))
    silent = quiet or detached or as_json
    display = RunDisplay(parsed.name, parsed.judge.kind,
                         console=terminal.console(stderr=True, quiet=silent))
    with display, warnings_to_stderr(silent):
        summary = serve(parsed, directory, max_cycles=max_cycles,
                        reporter=with_champion(display, directory),
                        mode="daemon" if detached else "foreground", options=options,
                        web_process=serve_run,
                        on_log=lambda kind, d: display.line(
                            f"run {parsed.name} in {directory} · log {d['path']}"
                            if kind == "log" else f"dashboard: {d['url']}"))
    if parsed.configurations:
        _league_outcome(directory, summary, as_json=as_json, silent=silent)
        return
    with Store(directory) as store:
        champ = champion_summary(store)
        pending = store.pending_cycle()
        last = store.decisions(limit=1)
    all_failed = summary.cycles > 0 and summary.failures == summary.cycles
    if as_json:
        print(json.dumps({"run_dir": str(directory), "cycles": summary.cycles,
                          "promotions": summary.promotions, "failures": summary.failures,
                          "stopped": summary.stopped, "budget_spent": summary.budget_spent,
                          "interrupted_cycle": pending[0]
                          if pending else None, "champion": champ}, indent=2, default=str))
    elif not silent:
        if pending is not None:
            err.print(f"cycle {pending[0]} was interrupted; its evidence is kept and it "
                      "resumes on the next start")
        verb = "stopped" if summary.stopped else "finished"
        if summary.budget_spent:
            verb = f"finished ({summary.budget_spent})"
        err.print(f"{verb}: {summary.cycles} cycles, {summary.promotions} promotions, "
                  f"{summary.failures} failed; champion v{champ['version']} "
                  f"({champ['candidate']}). See `ratchet best --run-dir {directory}`.",
                  highlight=False)
    if all_failed:
        reason = last[-1].reason if last else "no reason recorded"
        err.print(terminal.error(f"every cycle failed ({summary.failures} of "
                                 f"{summary.cycles}); the last: {reason}"))
        raise typer.Exit(1)


def _league_outcome(directory: Path, summary: LoopSummary, *, as_json: bool,
                    silent: bool) -> None:
    """What a run of several configurations ended with: each one's champion."""
    from ratchet.core.rundir import configuration_dirs

    champions = {}
    for name, sub in configuration_dirs(directory).items():
        with Store(sub) as store:
            champions[name] = champion_summary(store)
    if as_json:
        print(json.dumps({"run_dir": str(directory), "cycles": summary.cycles,
                          "promotions": summary.promotions, "failures": summary.failures,
                          "stopped": summary.stopped, "budget_spent": summary.budget_spent,
                          "champions": champions}, indent=2, default=str))
    elif not silent:
        verb = "stopped" if summary.stopped else "finished"
        err.print(f"{verb}: {summary.cycles} cycles, {summary.promotions} promotions, "
                  f"{summary.failures} failed, in {len(champions)} configurations: " +
                  ", ".join(f"{n} champion v{c['version']}" for n, c in champions.items()) +
                  f". See `ratchet status --run-dir {directory}`.")
    if summary.cycles > 0 and summary.failures == summary.cycles:
        err.print(terminal.error(f"every cycle failed ({summary.failures} of "
                                 f"{summary.cycles}); see `ratchet status --run-dir "
                                 f"{directory}`"))
        raise typer.Exit(1)


register_record_commands(app)  # after run, in the order of --help


@app.command()
def dashboard(run_dirs: Annotated[list[Path] | None, typer.Argument(
                  help="run directories (default: every run under runs/)",
                  show_default=False)] = None,
              host: Annotated[str, typer.Option(help="address to bind")] = "127.0.0.1",
              port: Annotated[int, typer.Option(help="port (0: any free port)")] = 8321,
              allow_host: Annotated[list[str] | None, typer.Option(
                  "--allow-host", help="a name requests may reach it by (their Host "
                  "header), besides localhost and the bound address; repeat for more")]
              = None,
              ) -> None:
    """Serve the dashboard of stopped or running runs, read-only, from their stores."""
    from ratchet.apps.web import create_app
    from ratchet.apps.web.server import WebServer

    dirs = run_dirs or existing_runs()
    if not dirs:
        fail("no runs: pass RUN_DIR (a directory holding ratchet.db)")
    for d in dirs:
        Store(d).close()  # a clear error for a directory that holds no run
    server = WebServer(create_app(dirs, read_only=True), host, port, allow_host or ())
    url = server.start()
    err.print(f"dashboard of {len(dirs)} run(s) at {url} (read-only) · Ctrl+C stops",
              highlight=False)
    server.wait()


@app.command()
def calibrate(recipe: Annotated[Path, typer.Argument(help="recipe YAML whose benchmark to "
                                                      "calibrate")],
              run_dir: RunDirOpt = None, name: NameOpt = None,
              tests: Annotated[int, typer.Option("--tests", min=1, help="A/A decisions: a "
                                                 "challenger with the champion's own "
                                                 "values")] = 50,
              repeats: Annotated[int, typer.Option("--repeats", min=3, help="measurements "
                                                   "of the champion on fresh seeds, for "
                                                   "its noise and drift")] = 10,
              decision_seconds: Annotated[float | None, typer.Option(
                  "--decision-seconds", min=1, help="suggest settings for decisions of "
                  "about this long (default: as long as they take now)",
                  show_default=False)] = None,
              as_json: JsonOpt = False) -> None:
    """An A/A run on your own benchmark before you trust it: is it deterministic per
    seed, how noisy is it, does it drift, and how often does the recipe's judge promote
    a challenger that is no better (it should be at most its alpha)? Suggests batch,
    elo1 or min_improvement, and racing. The live file is never written; the tests run
    in RUN_DIR/calibration/ and the report goes to RUN_DIR/calibration.json, which the
    dashboard shows."""
    from ratchet.apps.calibrate import calibrate as run_calibration
    from ratchet.apps.calibrate import report_lines
    from ratchet.engine.recipe import load_recipe
    from ratchet.engine.runner import warnings_to_stderr

    parsed = load_recipe(recipe)
    if name:
        parsed = parsed.model_copy(update={"name": check_name(name)})
    directory = resolve_run_dir(run_dir, parsed.name)
    say = terminal.console(stderr=True, quiet=as_json)
    with warnings_to_stderr(as_json):
        report = run_calibration(parsed, directory, tests=tests, repeats=repeats,
                                 decision_s=decision_seconds,
                                 progress=lambda m: say.print(f"calibrate: {m}"))
    if as_json:
        print(json.dumps(report, indent=2, default=str))
        return
    for label, text in report_lines(report):
        out.print(terminal.line((f"{label}:", "bold"), " ", text))
    out.print(f"report: {RunDir(directory).calibration}")


def _version(value: bool) -> None:
    if value:
        print(f"ratchet {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: Annotated[bool, typer.Option("--version", callback=_version,
                                                is_eager=True, help="print the version")]
          = False) -> None:
    """ratchet: holds a champion, measures challengers, promotes only what is proven better."""


register_service_commands(app)
app.add_typer(cartpole_app, name="cartpole")
app.command("tune-os")(tune_os)
app.add_typer(sysctl_app, name="sysctl")


def main() -> None:
    """Entry point: usage errors exit 2 (typer); a RatchetError is one line and exit 2."""
    logging.raiseExceptions = False  # a log file that cannot be written prints no traceback
    try:
        app()
    except RatchetError as exc:
        err.print(terminal.error(str(exc)))
        sys.exit(exc.exit_code)
    except OSError as exc:
        if exc.errno not in NO_ROOM:
            raise
        err.print(terminal.error(no_room_message(exc)))
        sys.exit(75)
