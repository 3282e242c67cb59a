"""GPIO inputs: gpiozero devices with a configured pin factory (lgpio on a Pi, mock in simulation),
a replay backend for recorded ``gpio.csv``, and the UART door-node reader."""

from hw.gpio.inputs import GpioConfig, GpioInputs, open_gpio

__all__ = ["GpioConfig", "GpioInputs", "open_gpio"]
