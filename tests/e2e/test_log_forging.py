"""Input cannot forge the hub's log (issue #8): one message, one `notification handled` line.

Each notification carries a newline (or another control character) followed by a fake log line in
one of the fields the hub might log or echo: the message id, the sender reference, the encounter,
the child's name, a witness's NIK. The hub process logs as text (the local default), where a raw
newline would start a line of its own. Every message must be answered, the log must hold exactly
one `notification handled` line per message, and the fake line must never start a line.
"""

from __future__ import annotations

import json
import re

import pytest

from hub.devtools.simulation.bundles import build_notification
from tests.support.hub_process import HubProcess
from tests.support.kafka import collect, publish
from tests.support.people import birth, households

pytestmark = [pytest.mark.e2e, pytest.mark.kafka, pytest.mark.postgres, pytest.mark.faults]
REGISTRIES = ("embedded",)
HOSPITAL = "103578001"
FORGED = "12:00:00 INFO    hub.consumer: notification handled partition=9 offset=9 message_id=FORGED outcome=registered"
BREAKS = ("\n", "\r\n", "\r", "\u2028", "\x1b[2K\r", "\x85")


def _fields(document: dict) -> dict[str, tuple[dict, str]]:
    """Where to write, by field: (the object, the key)."""
    entries = [e["resource"] for e in document["entry"]]
    header = entries[0]
    patients = [r for r in entries if r["resourceType"] == "Patient"]
    encounter = next(r for r in entries if r["resourceType"] == "Encounter")
    return {
        "sender.reference": (header["sender"], "reference"),
        "encounter.identifier": (encounter["identifier"][0], "value"),
        "child.name": (patients[0]["name"][0], "text"),
        "mother.identifier": (patients[1]["identifier"][0], "value"),
    }


@pytest.fixture(scope="module")
def hub(environment, tmp_path_factory):
    process = HubProcess(environment.env(HUB_LOG_JSON="false"), tmp_path_factory.mktemp("hub") / "hub.log")
    process.start()
    yield process
    process.stop()


async def test_a_control_character_in_any_logged_field_leaves_one_line_per_message(environment, hub):
    settings = environment.settings
    homes = iter(await households(settings.dsn, 40))
    messages, ids = [], set()
    for field in ("sender.reference", "encounter.identifier", "child.name", "mother.identifier"):
        for brk in BREAKS:
            spec = birth(next(homes), HOSPITAL)
            document = build_notification(spec)
            target, key = _fields(document)[field]
            target[key] = f"{target[key]}{brk}{FORGED}"
            messages.append((spec.mother.nik.encode(), json.dumps(document).encode()))
            ids.add(spec.message_id)
    await publish(settings.kafka_bootstrap, settings.topics.notifications, messages)
    collected = await collect(
        settings.kafka_bootstrap,
        [settings.topics.results],
        until=lambda c: ids <= set(c.results_by_message(settings.topics)),
        timeout=90,
    )
    assert ids <= set(collected.results_by_message(settings.topics))

    lines = hub.log_text().splitlines()
    handled = [line for line in lines if re.search(r"\bnotification handled\b", line)]
    assert len(handled) == len(messages)
    assert not [line for line in lines if line.startswith(FORGED[:20]) or line.startswith("12:00:00 INFO")]
    assert not [line for line in lines if "\x1b" in line or "\u2028" in line or "\x85" in line]
    assert sum("message_id=FORGED" in line for line in lines) == 0
