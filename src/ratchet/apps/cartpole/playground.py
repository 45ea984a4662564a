"""A Gradio playground for the CartPole agent: pick a model (the shipped one or a run's
champion) and a task, play episodes and plot their returns, adapt (standard, hybrid or identify)
and compare before and after, run a few RSI cycles with a live log.

Mounted by the dashboard at ``/playground`` when it serves a cartpole run, or alone with
``ratchet cartpole playground``. Nothing it does changes a run: RSI cycles run on a copy,
in a temporary directory. Every button starts work (episodes, training, RSI threads), so each
needs a token: the run's token on a dashboard, one printed at start when served alone. The
read-only ``ratchet dashboard`` does not mount it.
"""

from __future__ import annotations

import os
import queue
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from ratchet.core.rundir import RunDir

SHIPPED_LABEL = "shipped model"
TASK_CHOICES = (["nominal"] + [f"physics-heldout-{i}" for i in range(5)]
                + [f"hard-train-{i}" for i in range(4)]
                + [f"hard-heldout-{i}" for i in range(5)])


def model_choices(run_dirs: Sequence[Path]) -> dict[str, Path]:
    from ratchet.plugins.targets.cartpole import LIVE_POLICY
    from ratchet.plugins.targets.cartpole.pretrain import SHIPPED

    choices = {SHIPPED_LABEL: SHIPPED}
    for run_dir in run_dirs:
        champion = RunDir(run_dir).published(LIVE_POLICY)
        if champion.exists():
            choices[f"champion of {Path(run_dir).name}"] = champion
    return choices


def _frame(series: dict[str, list[float]]) -> Any:
    import pandas as pd

    rows = [{"episode": i + 1, "return": r, "series": name}
            for name, values in series.items() for i, r in enumerate(values)]
    return pd.DataFrame(rows, columns=["episode", "return", "series"])


TokenCheck = Callable[[str | None], bool]
TOKEN_NEEDED = ("this needs the token: the run's token (the file 'token' in its run "
                "directory), or the one `ratchet cartpole playground` printed")


def run_token_check(run_dirs: Sequence[Path]) -> TokenCheck:
    """Accepts the token of any of ``run_dirs``."""
    from ratchet.service.token import check_token

    return lambda offered: any(check_token(Path(d), offered) for d in run_dirs)


def fixed_token_check(token: str) -> TokenCheck:
    import secrets

    return lambda offered: bool(offered) and secrets.compare_digest(token, offered.strip())


def build(run_dirs: Sequence[Path], token_ok: TokenCheck) -> Any:
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    import gradio as gr
    import numpy as np
    import torch

    from ratchet.plugins.targets.cartpole.adapt import (
        MODES,
        AdaptConfig,
        adapt_policy,
        replay_buffer,
    )
    from ratchet.plugins.targets.cartpole.checkpoint import load_policy
    from ratchet.plugins.targets.cartpole.pretrain import training_tasks
    from ratchet.plugins.targets.cartpole.tasks import tasks_named
    from ratchet.plugins.targets.cartpole.train import evaluate

    torch.set_num_threads(1)
    models = model_choices(run_dirs)

    def path_of(label: str) -> Path:
        """The model behind a label (runs are re-read: a champion may have appeared)."""
        return model_choices(run_dirs).get(label) or models[SHIPPED_LABEL]

    def load(label: str) -> Any:
        return load_policy(path_of(label))[0]

    def check(token: str | None) -> None:
        if not token_ok(token):
            raise gr.Error(TOKEN_NEEDED)

    def play(token: str, label: str, task: str, episodes: float) -> tuple[str, Any]:
        check(token)
        policy = load(label)
        returns = evaluate(policy, tasks_named(task), int(episodes), seed=1)[0]
        text = (f"{task}: mean return {np.mean(returns):.1f} over {len(returns)} episodes "
                f"(state carried across them)")
        return text, _frame({label: returns})

    def adapt(token: str, label: str, task: str, mode: str,
              episodes: float) -> tuple[str, Any]:
        check(token)
        policy = load(label)
        target = tasks_named(task)[0]
        replay = (replay_buffer(policy, training_tasks(0), 8, seed=2)
                  if mode == "hybrid" else None)
        before = evaluate(policy, [target] * 5, 1, seed=3)
        result = adapt_policy(policy, target, AdaptConfig(mode=mode, episodes=int(episodes)),
                              seed=4, replay=replay)
        after = evaluate(result.policy, [target] * 5, 1, seed=3, sensor=result.sensor)
        b, a = np.mean(before), np.mean(after)
        text = (f"{task}: {b:.1f} before, {a:.1f} after {int(episodes)} episodes of {mode} "
                f"adaptation")
        return text, _frame({"while adapting": result.curve,
                             "before": [r for u in before for r in u],
                             "after": [r for u in after for r in u]})

    def rsi(token: str, label: str, cycles: float) -> Iterator[str]:
        check(token)
        lines: queue.Queue[str] = queue.Queue()
        done = threading.Event()

        def work() -> None:
            try:
                _run_rsi(path_of(label), int(cycles), lines.put)
            except Exception as exc:  # shown in the log, the page stays usable
                lines.put(f"failed: {exc}")
            finally:
                done.set()

        threading.Thread(target=work, daemon=True).start()
        log: list[str] = []
        while not (done.is_set() and lines.empty()):
            try:
                log.append(lines.get(timeout=0.5))
                yield "\n".join(log)
            except queue.Empty:
                continue
        yield "\n".join(log + ["done"])

    with gr.Blocks(title="ratchet CartPole playground") as blocks:
        gr.Markdown("## CartPole SSM agent")
        token = gr.Textbox(label="token (every button starts work on this machine)",
                           type="password", elem_id="token")
        with gr.Row():
            model = gr.Dropdown(list(models), value=SHIPPED_LABEL, label="model",
                                elem_id="model")
            task = gr.Dropdown(TASK_CHOICES, value="nominal", label="task", elem_id="task")
        with gr.Tab("episodes"):
            episodes = gr.Slider(1, 20, value=5, step=1, label="episodes")
            run_button = gr.Button("Run episodes", elem_id="run-episodes")
            summary = gr.Textbox(label="result", elem_id="episodes-result")
            plot = gr.LinePlot(x="episode", y="return", color="series", label="returns")
            run_button.click(play, [token, model, task, episodes], [summary, plot])
        with gr.Tab("adapt"):
            mode = gr.Radio(list(MODES), value="identify", label="mode")
            budget = gr.Slider(1, 20, value=10, step=1, label="episodes to adapt on")
            adapt_button = gr.Button("Adapt", elem_id="adapt")
            adapt_summary = gr.Textbox(label="before / after", elem_id="adapt-result")
            adapt_plot = gr.LinePlot(x="episode", y="return", color="series",
                                     label="returns")
            adapt_button.click(adapt, [token, model, task, mode, budget],
                               [adapt_summary, adapt_plot])
        with gr.Tab("RSI"):
            cycles = gr.Slider(1, 10, value=1, step=1, label="cycles")
            rsi_button = gr.Button("Run RSI cycles", elem_id="rsi")
            rsi_log = gr.Textbox(label="log", lines=12, elem_id="rsi-log")
            rsi_button.click(rsi, [token, model, cycles], rsi_log)
    return blocks


def _run_rsi(model: Path, cycles: int, say: Any) -> None:
    """``cycles`` RSI cycles from ``model`` in a temporary run (small training budget)."""
    from ratchet.engine.recipe import parse_recipe
    from ratchet.engine.runner import run_recipe

    recipe = parse_recipe({
        "name": "playground-rsi",
        "target": {"kind": "cartpole", "model": str(model), "train_steps": 20_000,
                   "episodes": 3},
        "space": {"state_dim": {"type": "int", "low": 8, "high": 128},
                  "hidden_dim": {"type": "int", "low": 16, "high": 256},
                  "learning_rate": {"type": "logfloat", "low": 1e-4, "high": 3e-3},
                  "ent_coef": {"type": "float", "low": 0.0, "high": 0.05}},
        "strategy": {"kind": "evolve"},
        "judge": {"kind": "weighted", "batch": 4, "min_samples": 12, "max_samples": 24},
        "schedule": {"baseline": 4}, "executor": {"kind": "inline"}})

    def report(event: str, data: dict) -> None:
        if event == "cycle_end":
            r = data["result"]
            say(f"cycle {r.cycle}: {r.decision.value} {r.candidate.note} - {r.reason} "
                f"({r.seconds:.1f} s)")
        elif event == "baseline_start":
            say("measuring the starting champion")

    with tempfile.TemporaryDirectory(prefix="ratchet-playground-") as tmp:
        say(f"training and judging {cycles} challenger(s) from {model.name}")
        summary = run_recipe(recipe, Path(tmp) / "run", max_cycles=cycles, reporter=report)
        say(f"{summary.cycles} cycles, {summary.promotions} promotions")


def mount(app: Any, run_dirs: Sequence[Path], token_ok: TokenCheck,
          path: str = "/playground") -> Any:
    import gradio as gr

    app = gr.mount_gradio_app(app, build(run_dirs, token_ok), path=path)
    app.state.playground = True
    return app


def standalone(run_dirs: Sequence[Path], token: str) -> Any:
    """A bare app with the playground at /playground and / redirecting to it; its buttons
    need ``token``."""
    from fastapi import FastAPI
    from fastapi.responses import RedirectResponse

    app = FastAPI(title="ratchet CartPole playground")

    @app.get("/", include_in_schema=False)
    def index() -> RedirectResponse:
        return RedirectResponse("/playground/")

    return mount(app, run_dirs, fixed_token_check(token))
