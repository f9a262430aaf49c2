"""Use cases and the ports they need. Nothing here knows Kafka, PostgreSQL or HTTP."""
