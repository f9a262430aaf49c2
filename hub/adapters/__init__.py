"""Adapters by technology: postgres (store and embedded registry), kafka (outbox relay, topics)."""
