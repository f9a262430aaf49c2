"""Every text the console shows exists in Indonesian and English: each literal key that a template
or page passes to t(...) is registered, with two non-empty texts that take the same placeholders."""

from __future__ import annotations

import re
import string
from importlib import resources
from pathlib import Path

import hub.console.app  # noqa: F401  (imports every area, which registers its texts)
from hub.console import i18n
from hub.service.accounts import ROLES

CONSOLE = Path(str(resources.files("hub.console")))
LITERAL = re.compile(r"""\bt\(\s*["']([a-z0-9_.-]+)["']\s*[,)]""")


def _used() -> dict[str, str]:
    found = {}
    for path in [*CONSOLE.rglob("*.html"), *CONSOLE.rglob("*.py")]:
        if path.name == "i18n.py":
            continue
        for key in LITERAL.findall(path.read_text()):
            found.setdefault(key, str(path.relative_to(CONSOLE)))
    return found


def test_every_key_used_is_registered():
    missing = {key: where for key, where in _used().items() if key not in i18n.known()}
    assert not missing, f"texts used but not registered: {missing}"


def test_every_text_has_both_languages_with_the_same_placeholders():
    for key, (indonesian, english) in i18n.known().items():
        assert indonesian.strip() and english.strip(), key
        fields = [{name for _, name, _, _ in string.Formatter().parse(text) if name} for text in (indonesian, english)]
        assert fields[0] == fields[1], key


def test_the_keys_used_are_found_at_all():
    assert {"signin.submit", "nav.signout", "signin.refused"} <= set(_used())


def test_keys_made_from_parts_exist_for_every_part():
    known = i18n.known()
    assert all(f"role.{role}" in known for role in ROLES)
    assert all(f"error.{kind}.title" in known for kind in ("forbidden", "csrf", "notfound", "unavailable"))


def test_every_done_message_a_page_redirects_with_is_registered():
    sent = {
        key
        for path in CONSOLE.rglob("*.py")
        for key in re.findall(r"""done=["']([a-z0-9_.-]+)["']""", path.read_text())
    }
    assert not {key for key in sent if f"done.{key}" not in i18n.known()}
