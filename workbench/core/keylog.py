"""TLS key log files: the NSS key log format that Wireshark reads as ``tls.keylog_file``.

OpenSSL (through ``SSLContext.keylog_filename``) writes the lines; this module makes the file
safe first. The file decrypts the traffic it logs, so a new one is created with mode 0600
before the context opens it. An existing file is appended to and keeps its mode, and
``prepare_keylog`` says when group or others can read it, so the window can warn.
"""

from __future__ import annotations

import os
import stat

__all__ = ["ENV_KEYLOG", "prepare_keylog"]

#: The variable browsers and curl honour; the program honours it too, as its global option.
ENV_KEYLOG = "SSLKEYLOGFILE"


def prepare_keylog(path: str) -> bool:
    """Create ``path`` with mode 0600 if it does not exist, and check it can be appended to.
    True when group or others may read it. ``OSError`` when it cannot be written."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        mode = os.fstat(fd).st_mode
    finally:
        os.close(fd)
    return bool(mode & (stat.S_IRGRP | stat.S_IROTH))
