"""`hub run` switched to tracing by the standard OTEL_* variables alone, as an operator would.

The console exporter prints the process's spans; a hospital's own producer sends a W3C
traceparent header. (tests/integration/test_tracing.py checks the span tree in detail in-process.)
"""

from __future__ import annotations

import json

import pytest
from aiokafka import AIOKafkaProducer

from hub.devtools.simulation.bundles import build_notification
from tests.support import trust
from tests.support.hub_process import HubProcess
from tests.support.kafka import client, collect
from tests.support.people import birth, households
from tests.support.scrape import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.kafka, pytest.mark.postgres]
REGISTRIES = ("embedded",)


async def test_hub_run_traces_a_hospitals_message_when_otel_variables_ask(environment, tmp_path):
    """The real process, configured only by OTEL_* variables: the console exporter prints the
    hub's spans, which carry the trace id the hospital sent."""
    settings = environment.settings
    trace_id, parent = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    hub = HubProcess(
        environment.env(OTEL_TRACES_EXPORTER="console", OTEL_BSP_SCHEDULE_DELAY="100"), tmp_path / "hub.log"
    )
    hub.start()
    try:
        home = (await households(settings.dsn, 1))[0]
        spec = birth(home, "103578001")
        producer = AIOKafkaProducer(**client(settings.kafka_bootstrap))  # as a hospital's own client would
        await producer.start()
        try:
            raw = json.dumps(build_notification(spec)).encode()
            await producer.send_and_wait(
                settings.topics.notifications_of(spec.hospital_id),
                raw,
                key=spec.mother.nik.encode(),
                headers=[
                    ("traceparent", f"00-{trace_id}-{parent}-01".encode()),
                    *trust.signature_headers(spec.hospital_id, raw),
                ],
            )
        finally:
            await producer.stop()
        collected = await collect(
            settings.kafka_bootstrap,
            [settings.topics.results],
            until=lambda c: spec.message_id in c.results_by_message(settings.topics),
            timeout=60,
        )
        result = collected.results_by_message(settings.topics)[spec.message_id][0]
        assert result.headers["traceparent"].split("-")[1] == trace_id
        assert await eventually(lambda: '"name": "hub.relay.publish"' in hub.log_text(), timeout=10)
    finally:
        hub.stop()
    spans = hub.log_text()
    for name in ("hub.consume", "hub.validate", "hub.decide", "hub.db.transaction", "hub.relay.publish"):
        assert f'"name": "{name}"' in spans, name
    assert f'"trace_id": "0x{trace_id}"' in spans
