"""rettid onboard package."""
