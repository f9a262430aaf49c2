"""Reading document QR codes back: from a PDF (every page rendered at 200 dpi with pdfium) or from a
photo or scan (any image Pillow opens), decoded with zxing-cpp. Only `DK1:` payloads count."""

from __future__ import annotations

import io
from typing import Any

from hub.documents.qr import PREFIX

RENDER_DPI = 200


def payloads_in(data: bytes) -> list[str]:
    """The document QR payloads in a PDF or an image; [] when there are none or it is neither."""
    return [text for image in _images(data) for text in decode_qr(image)]


def decode_qr(image: Any) -> list[str]:
    """Payloads of every document QR code in an image."""
    import zxingcpp

    return [r.text for r in zxingcpp.read_barcodes(image) if r.text.startswith(PREFIX)]


def _images(data: bytes) -> list[Any]:
    if data.startswith(b"%PDF"):
        import pypdfium2 as pdfium

        document = pdfium.PdfDocument(data)
        try:
            return [document[i].render(scale=RENDER_DPI / 72).to_pil() for i in range(len(document))]
        finally:
            document.close()
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            return [image.convert("L")]
    except (UnidentifiedImageError, OSError):
        return []
