"""rettid bench package."""
