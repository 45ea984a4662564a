"""The `cartpole` target: a self-improving CartPole agent (SSM policy, meta-learning)."""

LIVE_POLICY = "champion-policy.safetensors"  # the champion's weights, beside the run's record
