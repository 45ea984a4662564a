"""`ratchet tune-os`, `ratchet sysctl restore` and seed 003's Python API."""
