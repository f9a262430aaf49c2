"""Synthetic data for demos, examples and tests: invented people, generated numbers, never real ones."""
