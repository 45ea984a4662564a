"""MAML: the inner update lowers the support loss; an outer step runs end to end."""

import pytest
import torch

from ratchet.plugins.targets.cartpole.maml import (
    MAMLConfig,
    adapt,
    meta_train,
    params_of,
    support_loss,
    using,
)
from ratchet.plugins.targets.cartpole.ppo import PPOConfig
from ratchet.plugins.targets.cartpole.rollout import collect
from ratchet.plugins.targets.cartpole.ssm import Arch, SSMPolicy
from ratchet.plugins.targets.cartpole.tasks import hard_task, nominal


@pytest.mark.parametrize("first_order", [True, False])
def test_inner_update_lowers_the_support_loss(first_order):
    torch.manual_seed(0)
    policy = SSMPolicy(Arch(state_dim=8, hidden_dim=16))
    support = collect(policy, [hard_task("train", 0)], 3, seed=2)
    cfg = PPOConfig()
    params = params_of(policy)
    before = support_loss(policy, params, support, cfg).item()
    adapted = adapt(policy, params, support, steps=3, lr=0.05, cfg=cfg,
                    first_order=first_order)
    after = support_loss(policy, adapted, support, cfg).item()
    assert after < before
    # the policy's own parameters are untouched by the functional inner loop
    assert all(torch.equal(p, params[k]) for k, p in policy.named_parameters())


def test_second_order_gradients_flow_through_the_inner_step():
    torch.manual_seed(0)
    policy = SSMPolicy(Arch(state_dim=4, hidden_dim=8))
    support = collect(policy, [nominal()], 1, seed=0)

    def gradients(first_order: bool) -> tuple[torch.Tensor, torch.Tensor]:
        """d loss / d meta-parameter, and d loss / d adapted parameter."""
        meta = params_of(policy)
        adapted = adapt(policy, meta, support, 1, 0.1, PPOConfig(), first_order=first_order)
        loss = support_loss(policy, adapted, support, PPOConfig())
        return tuple(torch.autograd.grad(loss, [meta["encoder.weight"],
                                                adapted["encoder.weight"]]))

    first_meta, first_adapted = gradients(first_order=True)
    second_meta, second_adapted = gradients(first_order=False)
    # first order treats the inner gradient as a constant: the meta-gradient is the
    # adapted parameters' gradient; second order adds the inner step's Hessian term
    assert torch.allclose(first_meta, first_adapted)
    assert torch.allclose(first_adapted, second_adapted)
    assert second_meta.abs().sum() > 0
    assert not torch.allclose(second_meta, first_meta, rtol=1e-3, atol=1e-6)


def test_using_swaps_parameters_and_restores_them():
    policy = SSMPolicy(Arch(state_dim=4, hidden_dim=8))
    original = {k: v.clone() for k, v in policy.state_dict().items()}
    zeros = {k: torch.zeros_like(v) for k, v in params_of(policy).items()}
    with using(policy, zeros):
        assert all(p.abs().sum().item() == 0 for p in policy.parameters())
    assert all(torch.equal(v, policy.state_dict()[k]) for k, v in original.items())


def test_meta_training_runs_and_reports_query_returns():
    policy = SSMPolicy(Arch(state_dim=4, hidden_dim=8))
    before = {k: v.clone() for k, v in policy.state_dict().items()}
    history = meta_train(policy, [nominal(), hard_task("train", 0)],
                         MAMLConfig(epochs=2, tasks_per_epoch=2, support_episodes=1,
                                    query_episodes=1))
    assert len(history) == 2 and all(h > 0 for h in history)
    assert any(not torch.equal(v, policy.state_dict()[k]) for k, v in before.items())
