"""MicroPython firmware for door-counter nodes; pure modules importable by CPython too."""
