"""GPIO inputs: gpiozero devices with a configured pin factory (lgpio on a Pi, mock in simulation)."""
