"""``make demo``: onboard, station and broker together in simulation (above every service package)."""
