"""`hub documents sample` (previews for template designers) and `hub documents verify` on bad input."""

from __future__ import annotations

from typer.testing import CliRunner

from hub.entrypoints.cli import app
from tests.support.documents import pdf_text


def test_sample_renders_every_akta_variant_and_a_large_family_card(tmp_path):
    done = CliRunner().invoke(app, ["documents", "sample", "-o", str(tmp_path)])
    assert done.exit_code == 0, done.output
    pdfs = sorted(p.name for p in tmp_path.glob("*.pdf"))
    assert pdfs == [
        "akta-both-parents-with-note.pdf",
        "akta-both-parents.pdf",
        "akta-mother-only.pdf",
        "akta-no-parents-known.pdf",
        "kartu-keluarga-12-members.pdf",
    ]
    assert (tmp_path / "akta-mother-only.png").stat().st_size > 10_000
    assert "Anak Contoh 10" in pdf_text((tmp_path / "kartu-keluarga-12-members.pdf").read_bytes())


def test_verify_says_what_it_cannot_read_without_a_traceback(tmp_path):
    done = CliRunner().invoke(app, ["documents", "verify", str(tmp_path / "missing.png")])
    assert done.exit_code == 2 and "cannot read" in done.output and "Traceback" not in done.output
    done = CliRunner().invoke(
        app, ["documents", "verify", "DK1:NOT-A-PAYLOAD", "--keys", str(tmp_path / "nokeys.json")]
    )
    assert done.exit_code == 2 and "no published keys" in done.output
