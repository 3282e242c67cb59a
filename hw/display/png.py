"""A sink that writes each frame to a PNG file (demo, snapshots, a web page that polls the file)."""

from __future__ import annotations

import os
from pathlib import Path

from PIL import Image

from hw.display.sink import Sink
from transit.errors import DeviceError
from transit.yamlconf import Node, resolve_path


class PngSink(Sink):
    """Writes ``path`` atomically (temp file + rename) so a reader never sees half a frame.

    ``path`` may contain ``{n}`` for numbered frames. ``scale`` enlarges small panels with nearest
    neighbour so the pixels stay visible when a person looks at the file.
    """

    def __init__(self, path: str | Path, scale: int = 1) -> None:
        super().__init__()
        self.path = str(path)
        self.scale = max(1, int(scale))
        self.written: list[Path] = []

    @classmethod
    def from_node(cls, node: Node) -> PngSink:
        node.reject_unknown({"backend", "path", "scale", "width", "height"})
        sink = cls(resolve_path(node.child("path")), node.get_int("scale", 1, min=1, max=16))
        if node.has("width") or node.has("height"):  # a PNG has no size of its own; this documents the panel
            sink.size = (node.get_int("width", min=1), node.get_int("height", min=1))
        return sink

    def show(self, frame: Image.Image) -> None:
        target = Path(self.path.replace("{n}", f"{self.frames_shown:06d}"))
        img = self.dim(frame)
        if self.scale > 1:
            img = img.resize((img.width * self.scale, img.height * self.scale), Image.Resampling.NEAREST)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(target.name + ".tmp")
            img.save(tmp, format="PNG")
            os.replace(tmp, target)
        except OSError as exc:
            raise DeviceError(f"cannot write display frame to {target}: {exc.strerror or exc}") from exc
        self.written.append(target)
        self.frames_shown += 1
