"""Records that leave the unit: punctuality at registration stations, the durable outbox and the MQTT
publisher that empties it on the broker's acknowledgement."""
