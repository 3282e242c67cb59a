"""rettid hw package."""
