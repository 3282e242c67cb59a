"""rettid sim_bus package."""
