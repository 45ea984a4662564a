"""Benchmarks shipped with the sysctl target; each prints ``operations_per_second: X``."""
