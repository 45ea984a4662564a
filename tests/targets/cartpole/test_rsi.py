"""The shipped model, metrics, warm starts, test-time adaptation and a 2-cycle RSI run."""

import json

import numpy as np
import pytest
import torch

from ratchet.core.errors import RecipeError
from ratchet.core.store import Store
from ratchet.core.types import Candidate
from ratchet.engine.recipe import load_recipe, parse_recipe
from ratchet.engine.runner import run_recipe
from ratchet.plugins.targets.cartpole import metrics
from ratchet.plugins.targets.cartpole.adapt import AdaptConfig, adapt_policy, replay_buffer
from ratchet.plugins.targets.cartpole.checkpoint import load_policy
from ratchet.plugins.targets.cartpole.hyper import warm_start
from ratchet.plugins.targets.cartpole.pretrain import (
    SHIPPED,
    SHIPPED_SEED,
    Selection,
    load_shipped,
    nominal_return,
    pretrain,
)
from ratchet.plugins.targets.cartpole.spec import CartPoleTargetSpec
from ratchet.plugins.targets.cartpole.ssm import Arch, SSMPolicy
from ratchet.plugins.targets.cartpole.target import CartPoleTarget
from ratchet.plugins.targets.cartpole.tasks import hard_task, nominal, task_set, tasks_named
from ratchet.plugins.targets.cartpole.train import TrainConfig, evaluate, train_policy_gradient
from tests.conftest import ROOT


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


def test_the_shipped_model_loads_what_was_saved_and_balances():
    policy, meta = load_shipped()
    from safetensors.torch import load_file

    saved = load_file(SHIPPED)
    assert set(saved) == set(policy.state_dict())
    assert all(torch.equal(saved[k], v) for k, v in policy.state_dict().items())
    assert meta["seed"] == SHIPPED_SEED and meta["nominal_return_100"] >= 475
    assert nominal_return(policy, episodes=3) >= 475  # a few episodes, here and now


def test_pretraining_keeps_the_checkpoint_its_selection_scored():
    selection = Selection(tasks=2, time_limit=600, every=1)
    policy, meta = pretrain(seed=0, steps=4096, arch=Arch(state_dim=8, hidden_dim=16),
                            selection=selection)
    assert meta["selected_on"] == selection.describe()
    assert 2048 <= meta["selected_at_steps"] <= 4096  # scored over the second half only
    rescored = np.mean(evaluate(policy, task_set("physics", "validation", 2, 0), 1,
                                seed=777, time_limit=600))
    assert rescored == pytest.approx(meta["validation_return"])  # these are the kept weights


def test_pretraining_trains_the_network_it_is_given():
    from bench._mlp import MLPPolicy

    torch.manual_seed(0)
    untrained = MLPPolicy()
    policy, meta = pretrain(seed=0, steps=4096, network=MLPPolicy,
                            selection=Selection(tasks=2, time_limit=600, every=1))
    assert isinstance(policy, MLPPolicy) and meta["selected_at_steps"] >= 2048
    assert not torch.equal(policy.pi.weight, untrained.pi.weight)  # same seed, trained
    inputs = torch.randn(3, 7, 7)
    logits, values, _ = policy(inputs)
    step_logits, step_values, _ = policy.step(inputs[:, 2], policy.initial_state(3))
    assert torch.allclose(logits[:, 2], step_logits) and torch.allclose(values[:, 2],
                                                                        step_values)


def test_metrics_follow_their_definitions():
    physics = [[500.0, 500.0, 500.0]]
    hard = [[10.0, 100.0, 200.0, 200.0, 200.0]]
    m = metrics.compute(physics, hard)
    assert m["generalization"] == 1.0
    assert m["episodes_to_adapt"] == 3  # 200 is the adapted return; 90% first at episode 3
    assert m["adaptation_speed"] == pytest.approx(1 - 2 / 4)
    assert m["meta_efficiency"] == pytest.approx((200 - 10) / 500)
    every = physics[0] + hard[0]
    assert m["average_reward"] == pytest.approx(np.mean(every) / 500)
    assert m["stability"] == pytest.approx(1 - np.std(every) / 250)


def test_warm_start_copies_what_fits():
    torch.manual_seed(0)
    parent = SSMPolicy(Arch(state_dim=8, hidden_dim=16, layers=1))
    child = SSMPolicy(Arch(state_dim=10, hidden_dim=12, layers=2))
    copied = warm_start(child, parent)
    assert copied == len(parent.state_dict())  # every parent tensor lands somewhere
    assert torch.equal(child.ssms[0].B.weight[:8, :12], parent.ssms[0].B.weight[:8, :12])
    assert torch.equal(child.pi.bias, parent.pi.bias)


def test_a_challenger_trains_to_the_same_weights_whatever_its_id(tmp_path):
    """Candidate ids are random; the training seed comes from what the candidate is, so a
    seeded run is repeatable. A resized layer's fresh part is seeded too."""
    trained = []
    for run in ("a", "b"):
        torch.manual_seed(len(run) * 7 + ord(run))  # whatever the process did before
        spec = CartPoleTargetSpec.model_construct(train_steps=512, hard_tasks=False)  # short
        target = CartPoleTarget(spec, tmp_path / run)
        parent = Candidate(params={}, origin="baseline")
        child = Candidate(params={"hidden_dim": 72, "learning_rate": 2e-3}, origin="evolve",
                          parent=parent.id, note="architecture: hidden_dim 64 -> 72")
        trained.append(target.policy_of(child).state_dict())
    assert all(torch.equal(trained[0][k], trained[1][k]) for k in trained[0])
    assert trained[0]["encoder.weight"].shape[0] == 72


@pytest.mark.slow
def test_adaptation_improves_the_return_on_a_hard_task():
    torch.manual_seed(1)
    policy = SSMPolicy(Arch(state_dim=8, hidden_dim=16))
    train_policy_gradient(policy, [nominal()], TrainConfig(total_steps=20_000, slots=4,
                                                           episodes_per_task=2, seed=1))
    flip = hard_task("train", 0)
    before = np.mean(evaluate(policy, [flip] * 10, 1, greedy=False))
    afters = []
    for seed in range(8):  # 10 episodes of the flipped task each
        result = adapt_policy(policy, flip, AdaptConfig(episodes=10, steps=32,
                                                        learning_rate=2e-2), seed=seed)
        assert len(result.curve) == 10
        afters.append(np.mean(evaluate(result.policy, [flip] * 10, 1, greedy=False)))
    # The CPU's float path changes these figures (ATen's and oneDNN's kernels), and one
    # adaptation seed may gain 60 where the next loses 2, so the test takes 8 seeds and
    # asks for half: on 5 seeds an Intel CPU's AVX-512 gave 11.0 before, 17.0, 9.3, 48.5,
    # 112.0, 26.8 after, ATEN_CPU_CAPABILITY=default 10.7 before, 61.0, 9.8, 8.5, 24.1,
    # 34.7, an AMD EPYC 11.0 before, 8.7, 8.8, 8.5, 77.3, 40.1 (2 of 5 better). With 16
    # gradient steps a round: 12.3 / 14.6 after.
    assert np.mean(afters) > before + 5 and sum(a > before for a in afters) >= 4, \
        (before, afters)
    # the policy given is untouched; hybrid runs with a replay buffer
    assert np.mean(evaluate(policy, [flip] * 10, 1, greedy=False)) == before
    replay = replay_buffer(policy, [nominal()], 2, seed=3)
    hybrid = adapt_policy(policy, flip, AdaptConfig(mode="hybrid", episodes=2, steps=2),
                          seed=1, replay=replay)
    assert len(hybrid.curve) == 2


def test_task_names():
    assert [t.name for t in tasks_named("nominal")] == ["nominal"]
    assert len(tasks_named("physics-heldout")) == 30 and len(tasks_named("hard-train")) == 10
    assert tasks_named("hard-heldout-2")[0].name.startswith("hard-heldout-2-")
    with pytest.raises(ValueError, match="unknown task"):
        tasks_named("hard-nowhere")


@pytest.mark.slow
def test_two_rsi_cycles_in_a_temp_dir(tmp_path):
    raw = (ROOT / "recipes" / "cartpole-rsi.yaml").read_text()
    raw = raw.replace("train_steps: 40000", "train_steps: 1500").replace(
        "episodes: 5 ", "episodes: 2 ").replace("kind: processes, workers: 2", "kind: inline")
    raw = raw.replace("min_samples: 20, max_samples: 60", "min_samples: 4, max_samples: 8")
    raw = raw.replace("baseline: 8", "baseline: 2")
    path = tmp_path / "rsi.yaml"
    path.write_text(raw)
    run_dir = tmp_path / "run"
    summary = run_recipe(load_recipe(path), run_dir, max_cycles=2)
    assert summary.cycles == 2
    store = Store(run_dir)
    decisions = store.decisions()
    assert len(decisions) == 2 and all(d.decision.value in ("promote", "reject")
                                       for d in decisions)
    rows = store.evaluations(roles=("challenger",))  # the race's survivor (racing: default)
    assert rows and {"average_reward", "generalization", "adaptation_speed",
                     "meta_efficiency", "stability"} <= set(rows[0].metrics)
    # the challenger was trained and saved, or discarded after a rejection; the live
    # champion model is the store's champion
    champion = store.champion().candidate
    live, _ = load_policy(run_dir / "champion-policy.safetensors")
    assert live.arch.state_dim == champion.params["state_dim"]
    assert json.loads((run_dir / "champion.json").read_text())


def test_measured_episodes_can_run_past_cartpoles_500_steps(tmp_path):
    """``target.time_limit`` reaches the target from the recipe; the shipped model's
    validation episodes then run past 500 steps and the metrics are scaled to the limit."""
    from ratchet.core.types import EvalTask
    from ratchet.engine.factory import build_target

    raw = load_recipe(ROOT / "recipes" / "cartpole-rsi.yaml").model_dump(mode="json")
    raw["target"].update(time_limit=800, episodes=2)
    target = build_target(parse_recipe(raw), tmp_path)
    assert isinstance(target, CartPoleTarget) and target.spec.time_limit == 800
    found = target.evaluate(EvalTask(Candidate({}, origin="baseline"), "baseline", seed=0,
                                     size=2, cycle=0, batch=0))
    assert 500 < max(found.scores) <= 800 and len(found.scores) == 4
    assert found.metrics["generalization"] == pytest.approx(
        found.metrics["heldout_physics_return"] / 800)
    raw["target"]["time_limit"] = 0
    with pytest.raises(RecipeError, match="time_limit"):
        parse_recipe(raw)
