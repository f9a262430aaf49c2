"""The connection that listens for work (hub/adapters/postgres/listener.py) comes back after the
database restarts, and wakes its loop then: what was notified meanwhile reached nobody."""

from __future__ import annotations

import pytest

from hub.adapters.postgres import listener as listener_module
from hub.adapters.postgres.listener import NotifyListener
from hub.errors import StoreUnavailable


class Connection:
    def __init__(self) -> None:
        self.closed, self.callbacks = False, {}

    async def add_listener(self, channel, callback) -> None:
        self.callbacks[channel] = callback

    def is_closed(self) -> bool:
        return self.closed

    def terminate(self) -> None:
        self.closed = True

    async def close(self) -> None:
        self.closed = True


@pytest.fixture
def server(monkeypatch):
    """The connections the listener opened; `down` refuses new ones."""
    state = {"opened": [], "down": False}

    async def connect(dsn):
        if state["down"]:
            raise ConnectionRefusedError(111, "Connect call failed")
        state["opened"].append(Connection())
        return state["opened"][-1]

    monkeypatch.setattr(listener_module.asyncpg, "connect", connect)
    return state


async def test_a_notification_wakes_the_loop(server):
    listener = NotifyListener("postgresql://hub@db/hub", "hub_outbox")
    await listener.ensure()
    listener.wake.clear()
    server["opened"][0].callbacks["hub_outbox"](None, 1, "hub_outbox", "")
    assert listener.wake.is_set()


async def test_a_lost_connection_is_opened_again_and_the_loop_woken(server):
    async with NotifyListener("postgresql://hub@db/hub", "hub_outbox") as listener:
        await listener.ensure()
        await listener.ensure()
        assert len(server["opened"]) == 1, "a live connection is kept"
        server["opened"][0].closed = True  # the database restarted
        server["down"] = True
        listener.wake.clear()
        with pytest.raises(StoreUnavailable):
            await listener.ensure()
        server["down"] = False
        await listener.ensure()
        assert len(server["opened"]) == 2 and listener.wake.is_set()
    assert server["opened"][1].closed
