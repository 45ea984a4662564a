"""The plugin families (targets, strategies, judges, executors, gates), each kind
with its Spec. Imports only the core."""
