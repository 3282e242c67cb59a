"""Line framing of a raw NMEA byte stream over arbitrary chunks (serial reads, sockets, files)."""

from __future__ import annotations

from hw.gnss.decoder import FixAssembler, NmeaConfig, NmeaStats
from hw.gnss.fix import Fix


class NmeaStream:
    """Feed raw bytes in any chunking; get the fixes completed by them.

    Lines end at LF, CR or CRLF; a line longer than ``config.max_line`` is dropped up to its
    end and counted (``too_long``), so the buffer stays bounded whatever the line delivers.
    Pure and never raises on input; see :class:`~hw.gnss.decoder.FixAssembler` for the decoding.
    """

    __slots__ = ("assembler", "stats", "_buf", "_skipping", "_max")

    def __init__(self, config: NmeaConfig | None = None, stats: NmeaStats | None = None) -> None:
        self.assembler = FixAssembler(config, stats)
        self.stats = self.assembler.stats
        self._max = self.assembler.config.max_line
        self._buf = b""
        self._skipping = False  # inside an over-long line: drop bytes until the next LF

    def feed(self, data: bytes) -> list[Fix]:
        out: list[Fix] = []
        if not data:
            return out
        if b"\r" in data:
            data = data.replace(b"\r", b"\n")  # CR alone ends a line too (CRLF gives an empty one)
        buf = self._buf + data if self._buf else data
        lines = buf.split(b"\n")
        self._buf = lines.pop()
        asm = self.assembler
        for i, line in enumerate(lines):
            if i == 0 and self._skipping:
                self._skipping = False
                self.stats.garbage_bytes += len(line)
                continue
            if len(line) > self._max:
                self._too_long(len(line))
                continue
            asm.decode_line(line.strip(), out)
        if len(self._buf) > self._max:
            if not self._skipping:
                self._too_long(len(self._buf))
            else:
                self.stats.garbage_bytes += len(self._buf)
            self._skipping = True
            self._buf = b""
        return out

    def flush(self) -> list[Fix]:
        """End of input: decode a last unterminated line and emit the open epoch."""
        out: list[Fix] = []
        if self._buf and not self._skipping:
            self.assembler.decode_line(self._buf.strip(), out)
        self._buf = b""
        self._skipping = False
        out.extend(self.assembler.flush())
        return out

    def _too_long(self, n: int) -> None:
        self.stats.too_long += 1
        self.stats.garbage_bytes += n
        self.assembler.warn.warn("too_long", "NMEA: line longer than %d bytes dropped", self._max)
