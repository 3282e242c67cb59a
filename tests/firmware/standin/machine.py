"""Stand-in for MicroPython's ``machine`` module (RP2040 port) so the node firmware runs under CPython.

Only what ``firmware_py/node/main.py`` uses: ``Pin`` with ``irq``, ``UART.write`` and, because CPython's
``time`` lacks them, the MicroPython tick functions on a virtual clock that wraps like the real one.
Test helpers start with an underscore.
"""

TICKS_PERIOD = 1 << 30  # ticks_ms wraps here on MicroPython
_now = [0]
_pins = {}
_uarts = []


def ticks_ms():
    return _now[0] % TICKS_PERIOD


def ticks_diff(a, b):
    d = (a - b) % TICKS_PERIOD
    return d - TICKS_PERIOD if d >= TICKS_PERIOD // 2 else d


def sleep_ms(ms):
    _now[0] += ms


def _reset(start_ms=0):
    _now[0] = start_ms
    _pins.clear()
    _uarts.clear()


def _set_time(ms):
    _now[0] = ms


class Pin:
    IN = 0
    OUT = 1
    PULL_UP = 1
    PULL_DOWN = 2
    IRQ_RISING = 4
    IRQ_FALLING = 8

    def __init__(self, pin_id, mode=IN, pull=None):
        self.id = pin_id
        self.mode = mode
        self.pull = pull
        self._level = 1 if pull == Pin.PULL_UP else 0
        self._handler = None
        self._trigger = 0
        _pins[pin_id] = self

    def value(self, v=None):
        if v is None:
            return self._level
        self._level = 1 if v else 0
        return None

    def irq(self, handler=None, trigger=IRQ_RISING | IRQ_FALLING, hard=False):
        self._handler = handler
        self._trigger = trigger

    def _drive(self, level):
        """The outside world changes the level; the interrupt fires like a soft IRQ."""
        level = 1 if level else 0
        if level == self._level:
            return
        self._level = level
        want = Pin.IRQ_RISING if level else Pin.IRQ_FALLING
        if self._handler is not None and self._trigger & want:
            self._handler(self)


class UART:
    def __init__(self, uart_id, baudrate=115200, tx=None, rx=None, **kw):
        self.id = uart_id
        self.baudrate = baudrate
        self.sent = bytearray()
        _uarts.append(self)

    def write(self, data):
        self.sent.extend(data)
        return len(data)

    def read(self, n=-1):
        return None
