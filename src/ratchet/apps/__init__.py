"""Applications on top of the engine: the commands and pages of the built-in targets."""
