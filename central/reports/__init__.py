"""Contract reports built from the units' records."""
