"""PPO's pieces: GAE by hand, the loss improves a fixed batch, rollouts carry state."""

import pytest
import torch

from ratchet.plugins.targets.cartpole.ppo import PPOConfig, gae, ppo_loss
from ratchet.plugins.targets.cartpole.rollout import Stream, collect
from ratchet.plugins.targets.cartpole.ssm import Arch, SSMPolicy
from ratchet.plugins.targets.cartpole.tasks import hard_task, nominal


def test_gae_by_hand_and_no_leak_across_episodes():
    rewards = torch.tensor([1.0, 1.0, 1.0])
    values = torch.tensor([0.5, 0.5, 0.5])
    dones = torch.tensor([0.0, 1.0, 1.0])
    adv, ret = gae(rewards, values, dones, gamma=0.9, lam=1.0)
    # episode 1 is steps 0-1: returns 1 + 0.9 * 1 and 1; episode 2 is step 2: return 1
    torch.testing.assert_close(ret, torch.tensor([1.9, 1.0, 1.0]))
    torch.testing.assert_close(adv, ret - values)


def test_gae_bootstraps_a_cut_sequence():
    adv, ret = gae(torch.tensor([1.0]), torch.tensor([0.0]), torch.tensor([0.0]), gamma=0.5,
                   lam=1.0, last_value=torch.tensor(4.0))
    torch.testing.assert_close(ret, torch.tensor([3.0]))


def test_ppo_steps_lower_the_loss_on_a_fixed_batch():
    torch.manual_seed(0)
    model = SSMPolicy(Arch(state_dim=8, hidden_dim=16))
    x = torch.randn(1, 64, model.arch.input_dim)
    with torch.no_grad():
        logits, values, _ = model(x)
        actions = torch.distributions.Categorical(logits=logits).sample()
        old = torch.distributions.Categorical(logits=logits).log_prob(actions)
    advantages, returns = torch.randn(1, 64), torch.randn(1, 64)
    mask = torch.ones(1, 64)
    mask[0, 50:] = 0.0
    cfg = PPOConfig(learning_rate=1e-2)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.learning_rate)
    losses = []
    for _ in range(20):
        logits, values, _ = model(x)
        loss, _ = ppo_loss(logits, values, actions, old, advantages, returns, mask, cfg)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]


def test_collect_plays_whole_episodes_per_slot_with_state_carried():
    torch.manual_seed(0)
    model = SSMPolicy(Arch(state_dim=8, hidden_dim=16))
    tasks = [nominal(), hard_task("train", 0)]
    r = collect(model, tasks, episodes=3, seed=1)
    for slot in range(2):
        mask = r.mask[slot]
        assert len(r.returns[slot]) == 3 and mask.sum() == sum(r.returns[slot])
        assert int((r.dones[slot] * mask).sum()) == 3
        assert r.resets[slot, 0] == 1 and r.resets[slot, 1:].sum() == 0
    # the policy sees its previous action and reward after the first step
    assert r.inputs[0, 0, 4:].tolist() == [0.0, 0.0, 0.0]
    assert r.inputs[0, 1, 6] == 1.0
    again = collect(model, tasks, episodes=3, seed=1)
    assert again.returns == r.returns  # seeded


def test_a_stream_of_segments_replays_exactly_in_sequence_mode():
    """What the policy computed while acting, segment after segment with the state carried
    and tasks switching mid-segment, is what training recomputes from h0 and resets."""
    torch.manual_seed(0)
    model = SSMPolicy(Arch(state_dim=8, hidden_dim=16))
    stream = Stream(model, [nominal(), hard_task("train", 1)], slots=3, episodes_per_task=1,
                    seed=4)
    segments = [stream.segment(model, 64) for _ in range(3)]
    stream.close()
    assert sum(s.resets[:, 1:].sum() for s in segments) > 0  # tasks switched mid-segment
    for seg in segments:
        with torch.no_grad():
            _, values, _ = model(seg.inputs, seg.h0, seg.resets)
        torch.testing.assert_close(values, seg.values, atol=1e-4, rtol=1e-4)
    assert segments[1].h0[0].abs().sum() > 0  # carried over from the previous segment


@pytest.mark.slow
def test_policy_gradient_training_improves_the_return():
    import numpy as np

    from ratchet.plugins.targets.cartpole.train import TrainConfig, evaluate, train_policy_gradient

    torch.set_num_threads(1)
    torch.manual_seed(1)
    policy = SSMPolicy(Arch(state_dim=8, hidden_dim=16))
    before = float(np.mean(evaluate(policy, [nominal()], 5)))
    reports = train_policy_gradient(policy, [nominal()], TrainConfig(
        total_steps=20_000, slots=4, seed=1))
    after = float(np.mean(evaluate(policy, [nominal()], 5)))
    assert reports[-1].steps >= 20_000
    assert after > before + 30, (before, after)


def test_an_episode_cut_by_the_time_limit_bootstraps_the_value_of_where_it_led():
    """A 500-step episode did not fail: with ``bootstrap_time_limit`` its last target adds
    the discounted value of the observation the last action led to; a fall adds nothing."""
    import numpy as np

    from ratchet.plugins.targets.cartpole.envs import make_env
    from ratchet.plugins.targets.cartpole.pretrain import load_shipped
    from ratchet.plugins.targets.cartpole.ssm import policy_input
    from ratchet.plugins.targets.cartpole.train import batch_targets

    policy, _ = load_shipped()
    torch.manual_seed(0)
    falls = SSMPolicy(Arch(state_dim=8, hidden_dim=16))
    cut = collect(policy, [nominal()], episodes=1, seed=3, greedy=True)
    fell = collect(falls, [nominal()], episodes=1, seed=3, greedy=True)
    assert cut.returns == [[500.0]] and fell.returns[0][0] < 500
    assert fell.truncated_values.abs().sum() == 0
    last = cut.steps - 1
    assert cut.truncated_values[0, :last].abs().sum() == 0
    # where the last action led, replayed from the last observation the policy saw
    env = make_env(nominal())
    env.reset(seed=0)
    env.unwrapped.state = cut.inputs[0, last, :4].double().numpy()
    final, *_ = env.step(int(cut.actions[0, last]))
    after = policy_input(torch.tensor(np.asarray(final, dtype=np.float32))[None],
                         cut.actions[:, last], cut.rewards[:, last], 2)
    with torch.no_grad():
        _, values, _ = policy(torch.cat([cut.inputs, after[:, None]], 1), cut.h0,
                              torch.cat([cut.resets, torch.zeros(1, 1)], 1))
    torch.testing.assert_close(cut.truncated_values[0, last], values[0, -1], atol=1e-3,
                               rtol=1e-3)
    cfg = PPOConfig(bootstrap_time_limit=True)
    _, plain = batch_targets(cut, PPOConfig(bootstrap_time_limit=False))
    _, booted = batch_targets(cut, cfg)
    gap = booted - plain
    assert gap[0, last] > 0
    torch.testing.assert_close(gap[0, last], cfg.gamma * values[0, -1], atol=1e-3, rtol=1e-3)


def test_episodes_can_be_cut_later_or_earlier_than_cartpoles_500_steps():
    from ratchet.plugins.targets.cartpole.pretrain import load_shipped
    from ratchet.plugins.targets.cartpole.train import evaluate

    policy, _ = load_shipped()
    assert evaluate(policy, [nominal()], 2, time_limit=40) == [[40.0, 40.0]]
    assert evaluate(policy, [nominal()], 1, time_limit=700) == [[700.0]]
