"""The `cartpole` target: a self-improving CartPole agent (SSM policy, meta-learning)."""
