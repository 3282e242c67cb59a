"""``python -m onboard`` sub-commands: thin front ends over the service, replay, publishing and frieze."""
