"""Secrets never show in `--help`: not the settings' values, not a password from the environment."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from hub.entrypoints.cli import app

SENTINEL = "s3cret-SENTINEL-never-shown"


def _commands(group, prefix=()):
    import typer.main

    click_group = typer.main.get_command(group) if not hasattr(group, "commands") else group
    for name, command in sorted(getattr(click_group, "commands", {}).items()):
        yield (*prefix, name)
        if hasattr(command, "commands"):
            yield from _commands(command, (*prefix, name))


@pytest.mark.parametrize("command", [(), *list(_commands(app))], ids=lambda c: " ".join(c) or "hub")
def test_help_shows_no_secret(command, monkeypatch):
    for name in ("HUB_KAFKA_PASSWORD", "HUB_KAFKA_RELAY_PASSWORD", "HUB_KAFKA_ADMIN_PASSWORD", "HUB_DATABASE_URL"):
        monkeypatch.setenv(name, f"postgresql://u:{SENTINEL}@h/db" if name == "HUB_DATABASE_URL" else SENTINEL)
    result = CliRunner().invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output
    assert SENTINEL not in result.output
