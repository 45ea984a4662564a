"""Section nominal: the shipped model on nominal CartPole-v1."""

from __future__ import annotations

from ratchet.plugins.targets.cartpole.pretrain import nominal_return


def run(policy) -> None:
    fresh = nominal_return(policy, 100)
    carried = nominal_return(policy, 100, per_task=10)
    print(f"\n## nominal CartPole-v1, shipped model, 100 greedy episodes\n"
          f"fresh state each episode: {fresh:.1f}; blocks of 10, state carried: "
          f"{carried:.1f}  (issue: >= 475)")
