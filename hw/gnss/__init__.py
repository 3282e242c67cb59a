"""GNSS: NMEA 0183 decoding, fix assembly and byte sources (serial, file, gpsd)."""
