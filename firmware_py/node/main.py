"""Door-counter node: RP2040 + MicroPython. Beams on pin interrupts -> door counter -> framed,
checksummed count deltas on the UART to the onboard computer.

The interrupt handler only stores (ticks, pin, level) in a preallocated ring buffer (no allocation, no
logic in interrupt context); the main loop feeds the pure door counter and sends frames. Under CPython
the host tests run this same file with a stand-in ``machine`` module that also supplies the tick clock.
"""

import machine

try:  # MicroPython
    from time import sleep_ms, ticks_diff, ticks_ms  # type: ignore[attr-defined]
except ImportError:  # CPython host tests: the stand-in machine module provides a virtual clock
    from machine import sleep_ms, ticks_diff, ticks_ms

try:  # host: package layout
    from firmware_py import uartframe
    from firmware_py.doorcount import BULKY, IN, DoorCounter
except ImportError:  # board: flat files in the root directory
    import uartframe  # type: ignore[no-redef]
    from doorcount import BULKY, IN, DoorCounter  # type: ignore[no-redef]

RING = 256


class Node:
    def __init__(self, conf: dict) -> None:  # type: ignore[type-arg]
        self.conf = conf
        self.uart = machine.UART(conf["uart"], baudrate=conf["baud"], tx=machine.Pin(conf["tx"]),
                                 rx=machine.Pin(conf["rx"]))
        self.blocked = conf.get("blocked_level", 1)
        pull = {"up": machine.Pin.PULL_UP, "down": machine.Pin.PULL_DOWN}.get(conf.get("pull", "none"))
        self.doors = []
        self.pin_door = {}
        self.pins = []
        for door, pairs in conf["doors"]:
            dc = DoorCounter(door, pairs, conf.get("debounce_ms", 15), conf.get("bulky_ms", 800),
                             conf.get("stuck_ms", 60000), conf.get("merge_ms", 40))
            self.doors.append(dc)
            for pa, pb in pairs:
                self.pin_door[pa] = dc
                self.pin_door[pb] = dc
        # Ring buffer filled by the interrupt handler.
        self.r_t = [0] * RING
        self.r_pin = [0] * RING
        self.r_lvl = [0] * RING
        self.head = 0
        self.tail = 0
        self.overflow = 0
        for n in self.pin_door:
            p = machine.Pin(n, machine.Pin.IN, pull) if pull is not None else machine.Pin(n, machine.Pin.IN)
            self.pins.append(p)
            p.irq(handler=self._isr_for(n, p), trigger=machine.Pin.IRQ_RISING | machine.Pin.IRQ_FALLING)
        # Monotonic node time in ms that survives the 2**30 wrap of ticks_ms.
        self.last_ticks = ticks_ms()
        self.now = 0
        self.seq = 0
        self.next_status = 0
        self.delta = {}
        for dc in self.doors:
            self.delta[dc.door] = [0, 0, 0, 0]  # in adult, out adult, in bulky, out bulky

    def _isr_for(self, n: int, pin: object):  # type: ignore[no-untyped-def]
        def isr(_p: object) -> None:
            nxt = (self.head + 1) % RING
            if nxt == self.tail:
                self.overflow += 1
                return
            self.r_t[self.head] = ticks_ms()
            self.r_pin[self.head] = n
            self.r_lvl[self.head] = pin.value()  # type: ignore[attr-defined]
            self.head = nxt
        return isr

    def _clock(self) -> int:
        t = ticks_ms()
        self.now += ticks_diff(t, self.last_ticks)
        self.last_ticks = t
        return self.now

    def step(self) -> None:
        """One pass of the main loop: drain edges, let time pass, send deltas and the heartbeat."""
        now = self._clock()
        while self.tail != self.head:
            i = self.tail
            t = self.now + ticks_diff(self.r_t[i], self.last_ticks)
            pin = self.r_pin[i]
            level = 1 if self.r_lvl[i] == self.blocked else 0
            self.tail = (i + 1) % RING
            dc = self.pin_door[pin]
            self._tally(dc.door, dc.edge(t, pin, level))
        for dc in self.doors:
            self._tally(dc.door, dc.advance(now))
        for dc in self.doors:
            d = self.delta[dc.door]
            while d[0] or d[1] or d[2] or d[3]:
                part = [min(x, 255) for x in d]
                self._send(uartframe.encode_count(self.seq, now, dc.door, part[0], part[1], part[2], part[3]))
                for k in range(4):
                    d[k] -= part[k]
        if now >= self.next_status:
            self.next_status = now + self.conf.get("status_every_ms", 1000)
            for dc in self.doors:
                flags = 0
                if dc.stuck(now):
                    flags |= uartframe.FLAG_STUCK
                if self.overflow:
                    flags |= uartframe.FLAG_OVERFLOW
                bit = 4
                for lane in dc.lanes:
                    a, b = lane.blocked()
                    flags |= (a << bit) | (b << (bit + 1))
                    bit += 2
                c = dc.counters()
                self._send(uartframe.encode_status(self.seq, now, dc.door, flags, c["turnbacks"],
                                                   c["inconsistent"]))

    def _tally(self, door: int, crossings: list) -> None:  # type: ignore[type-arg]
        d = self.delta[door]
        for c in crossings:
            k = (0 if c.direction == IN else 1) + (2 if c.cls == BULKY else 0)
            d[k] += 1

    def _send(self, data: bytes) -> None:
        self.uart.write(data)
        self.seq = (self.seq + 1) & 0xFFFF

    def run(self) -> None:
        while True:
            self.step()
            sleep_ms(5)


def main() -> None:
    try:
        from nodeconf import CONF
    except ImportError:
        from firmware_py.node.nodeconf import CONF
    Node(CONF).run()


if __name__ == "__main__":
    main()
