"""Ports for services a test stops and starts again.

A port in Linux's ephemeral range (32768-60999) may be taken, while its server is down, by the
local end of some client's connection; the restarted server then cannot bind it. These ports
come from 20000-29999, below that range and clear of the local default services (15432, 18080,
18085, 18090, 18091, 19092, 19093).
"""

from __future__ import annotations

import random
import socket

LOW, HIGH = 20_000, 30_000


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def low_ports(count: int) -> list[int]:
    """`count` distinct ports below the ephemeral range, free right now."""
    chosen: list[int] = []
    candidates = random.sample(range(LOW, HIGH), 200)
    for port in candidates:
        if _bindable(port):
            chosen.append(port)
            if len(chosen) == count:
                return chosen
    raise RuntimeError(f"no {count} free ports between {LOW} and {HIGH}")
