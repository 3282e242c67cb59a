"""Per-node settings, edited when a node is flashed (MicroPython has no YAML)."""

CONF = {
    # UART to the onboard computer: id, baud rate, TX and RX GPIO of the RP2040.
    "uart": 0, "baud": 115200, "tx": 0, "rx": 1,
    # Doors on this node: door number (1-based, front to back) and its beam pairs (outer A, inner B).
    "doors": [(1, [(2, 3)]), (2, [(4, 5), (6, 7)])],
    "blocked_level": 1,  # pin level while a beam is interrupted
    "pull": "down",  # up | down | none
    "debounce_ms": 15, "bulky_ms": 800, "stuck_ms": 60000, "merge_ms": 40,
    "status_every_ms": 1000,
}
