"""The core: types, the store, the space, statistics, the plugin registry and
the run directory's files. Imports nothing of ratchet above it."""
