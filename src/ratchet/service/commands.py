"""CLI commands of the service: start, stop, restart, status, logs, pause, resume, promote,
service."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from ratchet.core import terminal
from ratchet.core.controls import Controls
from ratchet.core.errors import RatchetError
from ratchet.core.rundir import RunDir, check_name, resolve_run_dir
from ratchet.service import control
from ratchet.service.cli_args import NameOpt, RecipeArg, RunDirOpt, resolve_recipe_run_dir
from ratchet.service.pidfile import PidLock, running_pid
from ratchet.service.status import league_status, newest_log, run_status

out = terminal.console()
err = terminal.console(stderr=True)

Name = NameOpt


def _dir(recipe: Path | None, run_dir: Path | None, name: str | None = None,
         must_exist: bool = False) -> Path:
    return resolve_recipe_run_dir(recipe, run_dir, name, must_exist=must_exist)


def start(recipe: Annotated[Path, typer.Argument(help="recipe YAML")], name: Name = None,
          run_dir: RunDirOpt = None,
          adopt: Annotated[bool, typer.Option(
              "--adopt", help="the live file was edited by hand: measure it as a challenger "
                              "against the champion")] = False,
          restore_champion: Annotated[bool, typer.Option(
              "--restore-champion", help="the live file was edited by hand: write the "
                                         "champion back over it")] = False,
          as_json: Annotated[bool, typer.Option("--json", help="machine-readable")] = False,
          ) -> None:
    """Start the loop as a background daemon; return once it runs (the run open and the
    champion applied), or print why it could not start and exit 2."""
    if adopt and restore_champion:
        err.print(terminal.error("--adopt and --restore-champion exclude each other"))
        raise typer.Exit(2)
    from ratchet.engine.recipe import load_recipe

    parsed = load_recipe(recipe)
    directory = resolve_run_dir(run_dir, check_name(name) if name else parsed.name)
    extra = ["--adopt"] if adopt else ["--restore-champion"] if restore_champion else []
    started = control.start_daemon(recipe, directory, name=name, extra_args=extra)
    if as_json:
        print(json.dumps({"pid": started.pid, "run_dir": str(directory), "url": started.url,
                          "logs": started.log_hint}))
        return
    out.print(f"started {name or parsed.name}: pid {started.pid}, run directory {directory}\n"
              f"  status: ratchet status --run-dir {directory}\n"
              f"  logs:   {started.log_hint}\n"
              f"  stop:   ratchet stop --run-dir {directory}"
              + (f"\n  dashboard: {started.url} (token in {RunDir(directory).token})"
                 if started.url else ""))


def restore(run_dir: Annotated[Path, typer.Option("--run-dir", help="the run directory")],
            checkpoint: Annotated[Path | None, typer.Option(
                "--checkpoint", help="a snapshot under RUN_DIR/checkpoints (default: the "
                                     "newest)")] = None,
            from_another_run: Annotated[bool, typer.Option(
                "--from-another-run", help="put in place a checkpoint of another run "
                                           "(refused otherwise)")] = False) -> None:
    """Put a checkpoint back as the run's store (atomically; the run must be stopped)."""
    from ratchet.engine.recovery import restore as restore_checkpoint

    if run_dir.exists() and not run_dir.is_dir():
        raise RatchetError(f"{run_dir} is a file, expected a run directory")
    if not run_dir.is_dir():
        raise RatchetError(f"no run at {run_dir}")
    with PidLock(run_dir, "restore"):
        done = restore_checkpoint(run_dir, checkpoint, from_another_run=from_another_run)
    out.print(f"restored {done['checkpoint']} as {RunDir(run_dir).store}: run "
              f"{done['name']}, champion v{done['version']}, {done['cycles']} cycles. "
              f"Start it again with 'ratchet start RECIPE --run-dir {run_dir}'",
              highlight=False)


def stop(recipe: RecipeArg = None, run_dir: RunDirOpt = None, name: Name = None,
         timeout: Annotated[float, typer.Option("--timeout", min=0, max=86400,
                                                help="seconds to wait")] = 30.0,
         force: Annotated[bool, typer.Option("--force", help="SIGKILL after the timeout")]
         = False) -> None:
    """Stop the daemon (SIGTERM) at its next safe point and wait for it to exit."""
    directory = _dir(recipe, run_dir, name)
    t = time.monotonic()
    info = control.stop_daemon(directory, timeout_s=timeout, force=force)
    if info is None:
        out.print(f"not running ({directory})")
    else:
        out.print(f"stopped pid {info.pid} in {time.monotonic() - t:.1f} s")


def restart(recipe: RecipeArg = None, run_dir: RunDirOpt = None, name: Name = None) -> None:
    """Stop the daemon if it runs, then start it again with the same recipe."""
    directory = _dir(recipe, run_dir, name).resolve()
    recipe, start_name, cwd = control.start_args(directory)
    control.stop_daemon(directory)
    os.chdir(cwd)
    start(recipe, start_name, directory)


def status(recipe: RecipeArg = None, run_dir: RunDirOpt = None, name: Name = None,
           as_json: Annotated[bool, typer.Option("--json", help="machine-readable")] = False
           ) -> None:
    """Running or not, cycle, current and best score, promotions, last decision (in a run
    of several configurations: each one's, and the curriculum's weights)."""
    directory = _dir(recipe, run_dir, name)
    league = league_status(directory)
    s = league or run_status(directory)
    if as_json:
        print(json.dumps(s, indent=2, default=str))
        return
    if league is not None:
        _print_league(league)
        return
    _print_status(s)


def _state(s: dict[str, Any]) -> list[terminal.Piece]:
    if not s["running"]:
        return [("not running", "yellow")]
    return [("running", "green"), f" pid {s['pid']} ({s['mode']}), up {s['uptime_s']:.0f} s"]


def _print_league(league: dict[str, Any]) -> None:
    out.print(terminal.line((f"{len(league['configurations'])} configurations", "bold"),
                            f" in {league['run_dir']}: ", *_state(league)))
    if league.get("last_error"):
        out.print(f"  last error: {league['last_error']}")
    weights = league["curriculum"]
    if weights:
        at = time.strftime("%H:%M:%S", time.localtime(league["rebalanced_at"] or 0))
        out.print(f"  curriculum (rebalanced at {at}):")
        for cname, w in weights.items():
            out.print(f"    {cname}: weight {w['weight']:.2f}, share {w['share']:.0%}, "
                      f"{w.get('workers', '?')} workers — {w['why']}")
    for node, seen in league["resources"].items():
        if seen.get("gone_at") or "measured" not in seen:
            out.print(f"  node {node}: gone (its workers were placed on the others)")
            continue
        cpu = seen["measured"].get("cpu")
        band = "in its band" if seen["in_band"].get("cpu") else "outside its band"
        out.print(f"  node {node}: {seen['controller']['workers']} worker slots (CPU "
                  f"{cpu:.0f}%, {band}; set by its controller)")
    for cname, s in league["configurations"].items():
        out.print(terminal.line("\n", (f"configuration {cname}", "bold")))
        _print_status(s)


def _print_status(s: dict[str, Any]) -> None:
    state = _state(s)
    if s["paused"]:
        state += [", ", ("paused", "yellow"), f": {s['pause_reason']}"]
    best = s["best"]
    score = best["score"]
    ci = (f" [{score['low']:.4g}, {score['high']:.4g}]" if score.get("low") is not None else "")
    mean = f"{score['mean']:.4g}{ci} n={score['n']}" if score.get("mean") is not None else "—"
    cur = f"{s['current_score']:.4g}" if s["current_score"] is not None else "—"
    last = s["last_decision"]
    racing = s.get("racing") or []
    where = (f"race of cycles {racing[0]}-{racing[-1]}: {len(racing)} still in flight"
             if racing else
             f"cycle {s['cycle']}{' (in progress)' if s['cycle_in_progress'] else ''}")
    rest = (f"\n  {where}, "
            f"{s['promotions']} promotions, {s['cycles_since_promotion']} cycles since the "
            f"last\n"
            f"  champion v{best['version']} ({best['candidate']}): score {mean}\n"
            f"  last challenger score {cur}"
            + (f"; last decision: cycle {last['cycle']} {last['decision']} — "
               f"{last['reason']}" if last else "")
            + f"\n  consecutive failures {s['consecutive_failures']}"
            + (f"; inconclusive verdicts {s['inconclusive_rate']:.0%} of the last "
               "cycles (they hit max_games / max_samples)"
               if s.get("inconclusive_rate") is not None else "")
            + (f"\n  last error: {s['last_error']}" if s.get("last_error") else "")
            + (f"\n  {s['ended_uncleanly']}" if s.get("ended_uncleanly") else "")
            + (f"\n  the lock ratchet.lock is held by {s['lock_held_by']}, not this run's "
               "daemon: no run starts here until it lets go" if s.get("lock_held_by")
               else "")
 + "\n"
            + "".join(f"  {k}: {v}\n" for k, v in (s.get("target") or {}).items())
            + f"  run directory {s['run_dir']}"
            + (f"\n  dashboard {s['url']}" if s.get("url") else ""))
    out.print(terminal.line((s["name"], "bold"), " ", *state, rest))


def logs(recipe: RecipeArg = None, run_dir: RunDirOpt = None, name: Name = None,
         follow: Annotated[bool, typer.Option("--follow", "-f", help="keep printing")] = False,
         lines: Annotated[int, typer.Option("-n", "--lines", min=0)] = 40) -> None:
    """The newest log file of the run (one file per start)."""
    directory = _dir(recipe, run_dir, name)
    path = newest_log(directory)
    if path is None:
        err.print(terminal.error(f"no log files in {RunDir(directory).logs}"))
        raise typer.Exit(2)
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh.readlines()[-lines:] if lines else []:
            print(line, end="")
        if not follow:
            return
        try:
            while True:
                line = fh.readline()
                if line:
                    print(line, end="", flush=True)
                    continue
                newer = newest_log(directory)
                if newer is not None and newer != path:  # the daemon restarted
                    path = newer
                    fh.close()
                    fh = open(path, encoding="utf-8", errors="replace")  # noqa: SIM115
                    continue
                time.sleep(0.3)
        except KeyboardInterrupt:
            return


def pause(recipe: RecipeArg = None, run_dir: RunDirOpt = None, name: Name = None) -> None:
    """Pause the loop at its next safe point (it keeps its place)."""
    directory = _dir(recipe, run_dir, name, must_exist=True)
    Controls(directory).pause()
    running = running_pid(directory) is not None
    out.print(f"paused {directory}" + ("" if running else " (not running: it will start "
                                       "paused)"))


def resume(recipe: RecipeArg = None, run_dir: RunDirOpt = None, name: Name = None) -> None:
    """Resume a paused loop."""
    directory = _dir(recipe, run_dir, name, must_exist=True)
    Controls(directory).resume()
    out.print(f"resumed {directory}")


def promote(candidate: Annotated[str, typer.Argument(help="the candidate's id (`ratchet "
                                                     "history` lists them)")],
            recipe: RecipeArg = None, run_dir: RunDirOpt = None, name: Name = None) -> None:
    """Make a measured candidate the champion by hand (one an `approval` gate holds, or an
    earlier one); the loop does it at its next safe point."""
    from ratchet.core.store import Store

    directory = _dir(recipe, run_dir, name, must_exist=True)
    with Store(directory) as store:
        if store.champion().candidate.id == candidate:
            raise RatchetError(f"{candidate} is already the champion")
        try:
            store.candidate(candidate)
        except Exception:
            raise RatchetError(f"no candidate {candidate!r} in {directory}; `ratchet history "
                               f"--run-dir {directory}` lists them") from None
    Controls(directory).request_promotion(candidate)
    running = running_pid(directory) is not None
    out.print(f"asked to promote {candidate}" + (": the loop does it at its next safe point"
                                                 if running else
                                                 " (not running: done at its next start)"))


service_app = typer.Typer(help="Run a recipe under systemd.", no_args_is_help=True)


@service_app.command("install")
def service_install(recipe: Annotated[Path, typer.Argument(help="recipe YAML")],
                    user: Annotated[bool, typer.Option("--user", help="a user unit "
                                                       "(~/.config/systemd/user)")] = False,
                    name: Name = None, run_dir: RunDirOpt = None,
                    output: Annotated[Path | None, typer.Option("--output", "-o",
                                                                help="write the unit here")]
                    = None) -> None:
    """Write a systemd unit (Restart=always) for RECIPE and print how to enable it."""
    from ratchet.core.atomic import atomic_write_text
    from ratchet.engine.recipe import load_recipe
    from ratchet.service.systemd import unit_path, unit_text

    parsed = load_recipe(recipe)
    unit_name = check_name(name) if name else parsed.name
    directory = (run_dir or Path("runs") / unit_name).resolve()
    path = output or unit_path(unit_name, user)
    if path.is_dir():
        raise RatchetError(f"{path} is a directory; --output takes the unit file's path "
                           f"(e.g. {path / f'ratchet-{unit_name}.service'})")
    text = unit_text(recipe.resolve(), directory, Path.cwd(), unit_name)
    try:
        atomic_write_text(path, text)
    except PermissionError:
        err.print(terminal.error(f"cannot write {path}: run as root, or use --user"))
        raise typer.Exit(2) from None
    except OSError as exc:
        raise RatchetError(f"cannot write {path}: {exc.strerror}") from None
    flag = " --user" if user else ""
    out.print(f"wrote {path}\nenable and start it with:\n"
              f"  systemctl{flag} daemon-reload\n"
              f"  systemctl{flag} enable --now {path.name}\n"
              f"follow it with: journalctl{flag} -u {path.name} -f")


def register(app: typer.Typer) -> None:
    for fn in (start, stop, restart, status, logs, pause, resume, promote, restore):
        app.command()(fn)
    app.add_typer(service_app, name="service")
