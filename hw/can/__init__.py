"""CAN: python-can buses, Bus-FMS/J1939 decoding into vehicle state, candump replay."""
