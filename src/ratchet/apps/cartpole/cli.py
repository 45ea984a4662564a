"""``ratchet cartpole``: pretrain, train, evaluate and adapt the SSM policy by hand."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from ratchet.core import terminal
from ratchet.core.errors import RatchetError


def _needs_torch() -> None:
    from ratchet.core.extras import require

    require("torch", "gymnasium", "safetensors", feature="ratchet cartpole")


app = typer.Typer(no_args_is_help=True, rich_markup_mode=None, callback=_needs_torch,
                  help="The CartPole SSM agent: pretrain, train, eval, adapt.")
out = terminal.console()
err = terminal.console(stderr=True)

ModelOpt = Annotated[Path | None, typer.Option("--model", help="a saved policy "
                                               "(.safetensors); default: the shipped model")]
SeedOpt = Annotated[int, typer.Option("--seed", help="seeds tasks, episodes and training")]
JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable output")]
TaskOpt = Annotated[str, typer.Option("--task", help="nominal, FAMILY-SPLIT (a whole set) "
                                      "or FAMILY-SPLIT-INDEX, e.g. physics-heldout, "
                                      "hard-heldout-0, physics-wide (wider physics ranges)")]


def _load(model: Path | None) -> tuple[Any, dict[str, Any]]:
    from ratchet.plugins.targets.cartpole.checkpoint import load_policy
    from ratchet.plugins.targets.cartpole.pretrain import SHIPPED

    return load_policy(model or SHIPPED)


def _sensor_of(meta: dict[str, Any], model: Path | None) -> Any:
    """The sensor map an ``identify``-adapted model was saved with (None: plays as is)."""
    import numpy as np

    if "sensor_map" not in meta:
        return None
    try:
        sensor = np.asarray(meta["sensor_map"], dtype=np.float64)
    except (TypeError, ValueError):
        sensor = np.zeros(0)
    if sensor.shape != (4, 9) or not np.isfinite(sensor).all():
        raise RatchetError(f"{model}: sensor_map in its .json must be 4 rows of 9 finite "
                           "numbers (as `ratchet cartpole adapt --mode identify --out` "
                           "writes it)")
    return sensor


def _tasks(name: str, seed: int) -> list:
    from ratchet.plugins.targets.cartpole.tasks import tasks_named

    try:
        return tasks_named(name, seed)
    except ValueError as exc:
        raise RatchetError(f"--task: {exc}") from None


def _positive(name: str, value: float) -> None:
    if value <= 0:
        raise RatchetError(f"{name} must be positive, got {value:g}")


def _threads() -> None:
    import torch

    torch.set_num_threads(1)


@app.command()
def pretrain(out_path: Annotated[Path | None, typer.Option(
                 "--out", help="where to save (default: the shipped model's place)")] = None,
             seed: Annotated[int | None, typer.Option(
                 "--seed", help="training seed (default: the shipped model's)")] = None,
             steps: Annotated[int, typer.Option("--steps", help="environment steps")]
             = 300_000,
             memory: Annotated[bool, typer.Option(
                 "--memory/--no-memory", help="--no-memory: the same network without "
                 "memory (decays capped at 1e-4, the previous action and reward not "
                 "read), a feedforward policy")] = True) -> None:
    """Reproduce the shipped model: PPO on nominal + physics training tasks, seeded.

    Runs in a child process with torch's, MKL's and oneDNN's float paths pinned, so that
    the same seed gives the same bytes whichever vector code the CPU would pick (slower
    than the CPU's own path)."""
    from ratchet.plugins.targets.cartpole import floatpath

    _positive("--steps", steps)
    if not floatpath.is_pinned():
        forwarded = ["--steps", str(steps), "--memory" if memory else "--no-memory"]
        forwarded += ["--seed", str(seed)] if seed is not None else []
        forwarded += ["--out", str(out_path)] if out_path is not None else []
        child = subprocess.run([sys.executable, "-m", "ratchet", "cartpole", "pretrain",
                                *forwarded], env=floatpath.pinned_environ(), check=False)
        raise typer.Exit(child.returncode)
    from ratchet.plugins.targets.cartpole.pretrain import (
        SHIPPED,
        SHIPPED_SEED,
        nominal_return,
        pretrain,
        save_pretrained,
    )
    from ratchet.plugins.targets.cartpole.ssm import MEMORYLESS, Arch

    _threads()
    target = out_path or SHIPPED

    def progress(report: Any) -> None:
        if report.update % 25 == 0:
            out.print(f"update {report.update:4d}  steps {report.steps:7d}  "
                      f"recent return {report.mean_return:6.1f}")

    policy, meta = pretrain(seed=SHIPPED_SEED if seed is None else seed, steps=steps,
                            arch=Arch() if memory else MEMORYLESS, on_update=progress)
    meta["nominal_return_100"] = nominal_return(policy)
    meta["nominal_return_10x10"] = nominal_return(policy, per_task=10)
    path = save_pretrained(policy, meta, target)
    out.print(f"saved {path}: nominal CartPole-v1 mean return over 100 episodes "
              f"{meta['nominal_return_100']:.1f} from a fresh state, "
              f"{meta['nominal_return_10x10']:.1f} in blocks of 10 with the state carried "
              f"(float path: {meta['float_path']})")


@app.command()
def train(mode: Annotated[str, typer.Option("--mode", help="meta_rl (MAML) or "
                                            "policy_gradient (PPO)")] = "policy_gradient",
          env_name: Annotated[str, typer.Option("--env-name", help="gymnasium env")]
          = "CartPole-v1",
          epochs: Annotated[int, typer.Option("--epochs", help="meta_rl: outer updates; "
                                              "policy_gradient: PPO updates")] = 50,
          tasks_per_epoch: Annotated[int, typer.Option("--tasks-per-epoch")] = 8,
          inner_lr: Annotated[float, typer.Option("--inner-lr", help="meta_rl: inner "
                                                  "step size")] = 0.05,
          outer_lr: Annotated[float, typer.Option("--outer-lr", help="Adam step size")]
          = 1e-3,
          episodes: Annotated[int, typer.Option("--episodes", help="episodes per task "
                                                "(support and query for meta_rl)")] = 2,
          tasks: Annotated[str, typer.Option("--tasks", help="physics, hard or mixed "
                                             "training tasks")] = "mixed",
          model: ModelOpt = None,
          fresh: Annotated[bool, typer.Option("--fresh", help="start from random weights "
                                              "instead of --model")] = False,
          out_path: Annotated[Path, typer.Option("--out", help="where to save")]
          = Path("cartpole-policy.safetensors"),
          seed: SeedOpt = 0) -> None:
    """Train a policy (from the shipped model unless --fresh) and save it."""
    import numpy as np

    from ratchet.plugins.targets.cartpole.checkpoint import save_policy
    from ratchet.plugins.targets.cartpole.pretrain import training_tasks
    from ratchet.plugins.targets.cartpole.ssm import SSMPolicy

    if env_name != "CartPole-v1":
        raise RatchetError(f"--env-name {env_name!r}: only CartPole-v1 is supported")
    if mode not in ("meta_rl", "policy_gradient"):
        raise RatchetError(f"--mode {mode!r}: expected meta_rl or policy_gradient")
    if tasks not in ("physics", "hard", "mixed"):
        raise RatchetError(f"--tasks {tasks!r}: expected physics, hard or mixed")
    for name, value in (("--epochs", epochs), ("--tasks-per-epoch", tasks_per_epoch),
                        ("--inner-lr", inner_lr), ("--outer-lr", outer_lr),
                        ("--episodes", episodes)):
        _positive(name, value)
    _threads()
    policy = SSMPolicy() if fresh else _load(model)[0]
    pool = training_tasks(seed, hard=tasks != "physics")
    if tasks == "hard":
        pool = [t for t in pool if t.transforms]
    if mode == "meta_rl":
        from ratchet.plugins.targets.cartpole.maml import MAMLConfig, meta_train

        cfg = MAMLConfig(epochs=epochs, tasks_per_epoch=tasks_per_epoch, inner_lr=inner_lr,
                         outer_lr=outer_lr, support_episodes=episodes,
                         query_episodes=episodes, seed=seed)
        history = meta_train(policy, pool, cfg, on_epoch=lambda e, r: out.print(
            f"epoch {e:4d}  query return {r:6.1f}"))
        summary = {"final_query_return": float(np.mean(history[-5:]))}
    else:
        from dataclasses import replace

        from ratchet.plugins.targets.cartpole.train import TrainConfig, train_policy_gradient

        base = TrainConfig(slots=tasks_per_epoch, episodes_per_task=episodes, seed=seed)
        cfg = replace(base, total_steps=epochs * base.slots * base.segment_steps,
                      ppo=replace(base.ppo, learning_rate=outer_lr))
        reports = train_policy_gradient(policy, pool, cfg, on_update=lambda r: (
            r.update % 25 == 0 and out.print(f"update {r.update:4d}  steps {r.steps:7d}  "
                                             f"recent return {r.mean_return:6.1f}",
                                             highlight=False)))
        summary = {"recent_return": reports[-1].mean_return if reports else 0.0}
    path = save_policy(policy, out_path, {"mode": mode, "seed": seed, "tasks": tasks,
                                          **summary})
    out.print(f"saved {path}")


@app.command("eval")
def evaluate_command(model: ModelOpt = None, task: TaskOpt = "nominal",
                     episodes: Annotated[int, typer.Option("--episodes", help="episodes "
                                                           "in all (split over the tasks)")]
                     = 100,
                     carry: Annotated[int, typer.Option("--carry", help="one task: episodes "
                                                        "played back to back with the "
                                                        "hidden state carried")] = 1,
                     as_json: JsonOpt = False, seed: SeedOpt = 10_000) -> None:
    """Mean greedy return of a policy (the shipped one by default) on a task or task set."""
    import numpy as np

    from ratchet.plugins.targets.cartpole.train import evaluate

    _positive("--episodes", episodes)
    _positive("--carry", carry)
    _threads()
    policy, meta = _load(model)
    sensor = _sensor_of(meta, model)
    tasks = _tasks(task, 0)
    if len(tasks) == 1:  # one task: blocks of --carry episodes, the state fresh for each
        per = min(carry, episodes)
        tasks = tasks * max(1, episodes // per)
    else:
        per = max(1, episodes // len(tasks))
    returns = evaluate(policy, tasks, per, seed=seed, sensor=sensor)
    flat = [r for unit in returns for r in unit]
    by_task: dict[str, list[float]] = {}
    for t, r in zip(tasks, returns, strict=True):
        by_task.setdefault(t.name, []).extend(r)
    result = {"model": str(model or "shipped"), "task": task, "episodes": len(flat),
              "mean_return": float(np.mean(flat)), "min_return": float(np.min(flat)),
              "per_task": {name: float(np.mean(r)) for name, r in by_task.items()}}
    if as_json:
        print(json.dumps(result))
        return
    out.print(f"{task}: mean return {result['mean_return']:.1f} over {len(flat)} episodes "
              f"(min {result['min_return']:.0f})")


@app.command()
def adapt(task: TaskOpt = "hard-heldout-0", model: ModelOpt = None,
          mode: Annotated[str, typer.Option("--mode", help="standard, hybrid (gradient "
                                            "steps) or identify (a learned sensor map)")]
          = "standard",
          episodes: Annotated[int, typer.Option("--episodes", help="episodes of the task "
                                                "to adapt on")] = 10,
          steps: Annotated[int, typer.Option("--steps", help="gradient steps per round")]
          = 8,
          lr: Annotated[float, typer.Option("--lr", help="adaptation step size")] = 3e-4,
          out_path: Annotated[Path | None, typer.Option("--out", help="save the adapted "
                                                        "policy here")] = None,
          as_json: JsonOpt = False, seed: SeedOpt = 0) -> None:
    """Adapt a policy to one task and compare before and after (5 greedy episodes, each
    from a fresh state)."""
    import numpy as np

    from ratchet.plugins.targets.cartpole.adapt import (
        MODES,
        AdaptConfig,
        adapt_policy,
        replay_buffer,
    )
    from ratchet.plugins.targets.cartpole.checkpoint import save_policy
    from ratchet.plugins.targets.cartpole.pretrain import training_tasks
    from ratchet.plugins.targets.cartpole.train import evaluate

    if mode not in MODES:
        raise RatchetError(f"--mode {mode!r}: expected one of {', '.join(MODES)}")
    for name, value in (("--episodes", episodes), ("--steps", steps), ("--lr", lr)):
        _positive(name, value)
    tasks = _tasks(task, 0)
    if len(tasks) != 1:
        raise RatchetError(f"--task {task}: adapt takes one task (e.g. {task}-0)")
    _threads()
    policy, _ = _load(model)
    replay = (replay_buffer(policy, training_tasks(seed), 8, seed + 1)
              if mode == "hybrid" else None)
    # five episodes, each from a fresh state: as `eval` plays by default
    before = float(np.mean(evaluate(policy, tasks * 5, 1, seed=seed + 100)))
    result = adapt_policy(policy, tasks[0], AdaptConfig(mode=mode, episodes=episodes,  # type: ignore[arg-type]
                                                        steps=steps, learning_rate=lr),
                          seed=seed, replay=replay)
    after = float(np.mean(evaluate(result.policy, tasks * 5, 1, seed=seed + 100,
                                   sensor=result.sensor)))
    report = {"task": tasks[0].name, "mode": mode, "episodes": episodes,
              "before": before, "after": after, "curve": result.curve}
    if out_path is not None:
        meta: dict[str, object] = {"adapted_to": tasks[0].name, "mode": mode}
        if result.sensor is not None:
            meta["sensor_map"] = result.sensor.tolist()  # `eval` plays through it
        save_policy(result.policy, out_path, meta)
    if as_json:
        print(json.dumps(report))
        return
    out.print(f"{tasks[0].name}: {before:.1f} before, {after:.1f} after {episodes} episodes "
              f"of {mode} adaptation")


@app.command()
def playground(run_dirs: Annotated[list[Path] | None, typer.Argument(
                   help="run directories whose champions to offer", show_default=False)]
               = None,
               host: Annotated[str, typer.Option(help="address to bind")] = "127.0.0.1",
               port: Annotated[int, typer.Option(help="port (0: any free port)")] = 7860
               ) -> None:
    """Serve the Gradio playground alone (the daemon's dashboard also mounts it at
    /playground). Its buttons need the token it prints."""
    import secrets

    from ratchet.apps.cartpole.playground import standalone
    from ratchet.apps.web.server import WebServer
    from ratchet.core.extras import require

    require("gradio", feature="the playground")
    token = secrets.token_urlsafe(16)
    app_ = standalone(run_dirs or [], token)
    server = WebServer(app_, host, port)
    url = server.start()
    err.print(f"playground at {url}playground/ · token {token} · Ctrl+C stops",
              highlight=False)
    server.wait()
