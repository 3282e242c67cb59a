"""Door-counter node firmware (RP2040, MicroPython). Copy ``main.py``, ``nodeconf.py`` and the pure
modules ``doorcount.py`` and ``uartframe.py`` to the board's root."""
