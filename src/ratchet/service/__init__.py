"""The always-on service: pid lock, control files, daemon lifecycle, status."""
