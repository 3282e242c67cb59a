"""The onboard service: configuration, the bootstrap that wires trip following to its consumers, the
long-running unit (drivers, reorder window, outputs, health) and the replay of recordings."""
