"""Helpers shared by the integration and end-to-end tests: test databases, Kafka I/O, hub processes."""
