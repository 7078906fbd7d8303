# SPDX-License-Identifier: GPL-2.0-or-later
"""A TCP port on 127.0.0.1 that no socket holds right now, from the kernel (bind to port 0):
parallel tests (tests/run.py's workers) never pick numbers themselves."""
import socket


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]
