"""Serial GNSS source via pyserial URLs: a device (``/dev/ttyACM0``), a pty path, ``loop://``,
``socket://host:port``. USB receivers vanish and come back; we reconnect with exponential backoff and
keep the decoder state (a partial line is dropped, counted as garbage by the stream on the next LF).
"""

from __future__ import annotations

import logging
import os
import select
import time

import serial  # pyserial: imported only when this backend is chosen

from hw.gnss.config import GnssConfig
from hw.gnss.fix import Fix
from hw.gnss.source import Backoff, GnssSource
from hw.gnss.stream import NmeaStream
from transit.errors import ConfigError
from transit.ratelimit import RateLimitedLog

log = logging.getLogger(__name__)


class SerialSource(GnssSource):
    """NMEA from a serial port or pyserial URL, decoded into fixes."""

    def __init__(self, config: GnssConfig) -> None:
        self.config = config
        self.stream = NmeaStream(config.nmea)
        self._port: serial.Serial | None = None
        self._backoff = Backoff(config.reconnect_min_s, config.reconnect_max_s)
        self._warn = RateLimitedLog(log, config.nmea.log_interval_s, clock=time.monotonic)
        self._closed = False
        self._fd: int | None = None  # the port's descriptor (devices, ptys); None for loop://, socket://
        self.bytes_read = 0
        self.connects = 0
        self.disconnects = 0
        self.open_failures = 0
        self._connect()

    @property
    def port(self) -> serial.Serial | None:
        """The open pyserial port (None while disconnected); e.g. to write to ``loop://``."""
        return self._port

    def _connect(self) -> bool:
        try:
            port = serial.serial_for_url(self.config.url, baudrate=self.config.baudrate, timeout=0)
        except (ValueError, serial.SerialException, OSError) as exc:
            if isinstance(exc, ValueError) and self.connects == 0 and self.open_failures == 0:
                # unknown URL scheme or bad parameter at start-up: a configuration error (later, e.g.
                # a replugged device that refuses the baud rate, we keep retrying instead)
                raise ConfigError(f"gnss.url '{self.config.url}': {exc}") from exc
            self.open_failures += 1
            delay = self._backoff.failed()
            self._warn.warn("open", "GNSS: cannot open %s (%s); retrying in %.1f s", self.config.url, exc,
                            delay)
            return False
        self._port = port
        self._fd = _fileno(port)
        self.connects += 1
        if self.connects > 1:
            log.info("GNSS: reconnected to %s", self.config.url)
        return True

    def _drop(self, exc: BaseException) -> None:
        self.disconnects += 1
        delay = self._backoff.failed()
        self._warn.warn("disconnect", "GNSS: %s disconnected (%s); reconnecting in %.1f s", self.config.url,
                        exc, delay)
        port, self._port, self._fd = self._port, None, None
        if port is not None:
            try:
                port.close()
            except (serial.SerialException, OSError):
                pass

    def read(self, timeout: float | None = None) -> list[Fix]:
        out: list[Fix] = []
        if self._closed:
            return out
        deadline = time.monotonic() + (timeout or 0.0)
        while True:
            remaining = deadline - time.monotonic()
            if self._port is None:
                if not self._backoff.ready():
                    wait = min(self._backoff.wait_s(), remaining)
                    if wait > 0:
                        time.sleep(wait)
                    if time.monotonic() >= deadline:
                        return out
                    continue
                if not self._connect():
                    continue
            port = self._port
            assert port is not None
            try:
                if self._fd is not None:
                    data = self._read_fd(self._fd, remaining)
                else:
                    port.timeout = max(0.0, remaining)
                    data = port.read(1)  # blocks until the first byte or the deadline
                    if data:
                        # then whatever else is there, without waiting (in_waiting is only 0/1 on socket://)
                        port.timeout = 0
                        data += port.read(self.config.read_chunk)
            except (serial.SerialException, OSError) as exc:
                self._drop(exc)
                continue
            if data:
                self._backoff.succeeded()
                self.bytes_read += len(data)
                out.extend(self.stream.feed(data))
            if out or time.monotonic() >= deadline:
                return out

    def _read_fd(self, fd: int, timeout: float) -> bytes:
        """Wait up to ``timeout`` for data on a device or pty, then read what is there.

        Hand-written instead of pyserial's ``read`` with a changing ``timeout``: every assignment to
        ``Serial.timeout`` reconfigures the port (tcgetattr/tcsetattr), twice per NMEA line at 10 Hz.
        """
        ready, _, _ = select.select([fd], [], [], max(0.0, timeout))
        if not ready:
            return b""
        data = os.read(fd, self.config.read_chunk)
        if not data:  # readable but empty: the device is gone (pyserial says the same)
            raise serial.SerialException("device reports readiness to read but returned no data")
        return data

    def close(self) -> None:
        self._closed = True
        port, self._port, self._fd = self._port, None, None
        if port is not None:
            port.close()

    def stats(self) -> dict[str, int]:
        d = self.stream.stats.as_dict()
        d.update(bytes_read=self.bytes_read, connects=self.connects, disconnects=self.disconnects,
                 open_failures=self.open_failures)
        return d


def _fileno(port: serial.Serial) -> int | None:
    """The descriptor of a device or pty port; None for URLs without one (``loop://``, ``socket://``)."""
    try:
        fd = port.fileno()
    except (AttributeError, OSError, ValueError, serial.SerialException):  # io.UnsupportedOperation is an OSError
        return None
    return fd if isinstance(fd, int) and fd >= 0 else None
