"""The `selfplay` target (issue 29, in progress): a policy-value network plus PUCT search
improved by self-play on any two-player zero-sum OpenSpiel game. docs/targets/selfplay.md
says what works and what does not yet.

Modules: ``spec`` (the recipe section), ``target`` (the loop's side), ``game`` (games by
name, checked), ``network`` (the network, safetensors + JSON), ``mcts`` (PUCT batched
across games), ``play`` and ``train`` (self-play games, training), ``match`` (players,
anchors, pairs), ``ratings`` (Bradley-Terry), ``gate`` (the regression gate), ``worker``
(the long-running worker loop), ``gamestore``, ``report`` (status and metrics).
"""

# the space parameters a challenger is trained with, and their types
TUNABLE: dict[str, type] = {"lr": float, "train_steps": int, "window_games": int}
