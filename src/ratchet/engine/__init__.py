"""The engine: a cycle, racing, the supervising loop, the session, the recipe
and the factory that builds a run's parts. Imports the plugins and the core."""
