"""Display sinks: push Pillow frames to a PNG file, a Linux framebuffer or optional luma/LED devices.

``open_sink(node)`` picks a backend by the configuration's ``backend`` key; hardware libraries are
imported only when their backend is chosen, so this package imports anywhere.
"""

from hw.display.sink import Sink, available_backends, open_sink

__all__ = ["Sink", "available_backends", "open_sink"]
