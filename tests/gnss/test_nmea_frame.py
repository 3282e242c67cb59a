from hw.gnss.nmea import checksum, frame


def test_checksum_known_sentence() -> None:
    # From the NMEA 0183 standard examples (also in gpsd's test logs).
    body = "GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,"
    assert checksum(body) == "47"
    assert frame(body) == "$" + body + "*47"


def test_checksum_empty_and_two_digits() -> None:
    assert checksum("") == "00"
    assert checksum("\x01") == "01"
