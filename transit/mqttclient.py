"""Credentials and TLS for a paho-mqtt client, shared by the onboard publisher and the stop display.

Duck-typed on the client (``username_pw_set``, ``tls_set``) so ``transit`` does not import paho: only
the units that talk MQTT pay for it. Both sides must fail the same way on a missing password file or
bad TLS files: a :class:`ConfigError` naming the ``mqtt`` key, at start-up.
"""

from __future__ import annotations

import os
import ssl
from pathlib import Path
from typing import Any

from transit.errors import ConfigError

__all__ = ["configure_auth"]


def configure_auth(client: Any, *, username: str | None, password_file: str | Path | None, tls: bool,
                   ca: str | Path | None = None, cert: str | Path | None = None,
                   key: str | Path | None = None) -> None:
    """Set user/password (password read from ``password_file``) and, for ``mqtts``, verified TLS."""
    if username:
        password = None
        if password_file:
            try:
                password = Path(password_file).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(f"cannot read MQTT password file: {exc}", file=str(password_file),
                                  key="mqtt.password_file") from exc
        client.username_pw_set(username, password)
    if tls:
        for what, f in (("ca", ca), ("cert", cert), ("key", key)):
            # ssl's own errors ("[X509] no certificate or crl found", "[Errno 2] No such file") name no file
            if f is not None and not os.access(f, os.R_OK):
                why = "no such file" if not os.path.exists(f) else "not readable by this user"
                raise ConfigError(f"TLS {what} file {f}: {why}", file=str(f), key=f"mqtt.tls.{what}")
        try:
            client.tls_set(ca_certs=None if ca is None else str(ca), certfile=None if cert is None else str(cert),
                           keyfile=None if key is None else str(key), cert_reqs=ssl.CERT_REQUIRED,
                           tls_version=ssl.PROTOCOL_TLS_CLIENT)
        except (OSError, ssl.SSLError, ValueError) as exc:
            files = ", ".join(f"{n} {f}" for n, f in (("ca", ca), ("cert", cert), ("key", key)) if f is not None)
            raise ConfigError(f"cannot load TLS files ({files}): {exc}", key="mqtt.tls") from exc
