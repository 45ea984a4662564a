"""The applications: the `ratchet` command (cli.py), the Python API, the live display,
exports, the web dashboard, and the commands of the built-in targets (cartpole, sysctl)."""
