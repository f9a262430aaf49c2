"""Kafka: the outbox relay's idempotent producer and topic administration."""
