"""Display sinks: push Pillow frames to a PNG file, a Linux framebuffer or optional luma devices."""
