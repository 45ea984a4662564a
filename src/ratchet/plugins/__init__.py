"""The plugin families (targets, strategies, judges, executors), each kind
with its Spec. Imports only the core."""
