"""The `selfplay` target (issue 29, in progress): a policy-value network plus PUCT search
playing any two-player zero-sum OpenSpiel game.

Built so far: ``game`` (games by name, checked), ``network`` (the network and its
safetensors + JSON files), ``mcts`` (PUCT search batched across games).
"""
