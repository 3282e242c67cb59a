"""rettid station package."""
