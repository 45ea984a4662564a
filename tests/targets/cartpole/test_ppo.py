"""PPO's pieces: GAE by hand, the loss improves a fixed batch, rollouts carry state."""

import torch

from ratchet.targets.cartpole.ppo import PPOConfig, gae, ppo_loss
from ratchet.targets.cartpole.rollout import collect
from ratchet.targets.cartpole.ssm import Arch, SSMPolicy
from ratchet.targets.cartpole.tasks import nominal


def test_gae_by_hand_and_no_leak_across_episodes():
    rewards = torch.tensor([1.0, 1.0, 1.0])
    values = torch.tensor([0.5, 0.5, 0.5])
    dones = torch.tensor([0.0, 1.0, 1.0])
    adv, ret = gae(rewards, values, dones, gamma=0.9, lam=1.0)
    # episode 1 is steps 0-1: returns 1 + 0.9 * 1 and 1; episode 2 is step 2: return 1
    torch.testing.assert_close(ret, torch.tensor([1.9, 1.0, 1.0]))
    torch.testing.assert_close(adv, ret - values)


def test_ppo_steps_lower_the_loss_on_a_fixed_batch():
    torch.manual_seed(0)
    model = SSMPolicy(Arch(state_dim=8, hidden_dim=16))
    x = torch.randn(1, 64, model.arch.input_dim)
    with torch.no_grad():
        logits, values, _ = model(x)
        actions = torch.distributions.Categorical(logits=logits).sample()
        old = torch.distributions.Categorical(logits=logits).log_prob(actions)
    advantages, returns = torch.randn(1, 64), torch.randn(1, 64)
    cfg = PPOConfig(learning_rate=1e-2)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.learning_rate)
    losses = []
    for _ in range(20):
        logits, values, _ = model(x)
        loss, _ = ppo_loss(logits, values, actions, old, advantages, returns, cfg)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]


def test_rollout_records_whole_episodes_with_state_carried():
    torch.manual_seed(0)
    model = SSMPolicy(Arch(state_dim=8, hidden_dim=16))
    r = collect(model, nominal(), episodes=3, seed=1)
    assert len(r.returns) == 3 and r.steps == sum(r.returns)
    assert int(r.dones.sum()) == 3 and r.dones[-1] == 1
    # the policy sees its previous action and reward after the first step
    assert r.inputs[0, 4:].tolist() == [0.0, 0.0, 0.0]
    assert r.inputs[1, 6] == 1.0
    again = collect(model, nominal(), episodes=3, seed=1)
    assert again.returns == r.returns  # seeded


def test_policy_gradient_training_improves_the_return():
    import numpy as np

    from ratchet.targets.cartpole.train import TrainConfig, evaluate, train_policy_gradient

    torch.set_num_threads(1)
    torch.manual_seed(1)
    policy = SSMPolicy(Arch(state_dim=8, hidden_dim=16))
    before = float(np.mean(evaluate(policy, [nominal()], 5)))
    reports = train_policy_gradient(policy, [nominal()], TrainConfig(
        total_steps=15_000, tasks_per_update=8, episodes_per_task=1, seed=1))
    after = float(np.mean(evaluate(policy, [nominal()], 5)))
    assert reports[-1].steps >= 15_000
    assert after > before + 15, (before, after)  # ~10 (random) -> ~50 on this budget
