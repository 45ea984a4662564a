"""The ``sysctl`` target: kernel parameters tuned safely, with rollback (seed 003)."""
