"""Thin entry points: the Kafka consumer, the relay loop and the CLI."""
