"""What a file is, judged by its first bytes rather than by its name or header."""

PDF = "application/pdf"
PNG = "image/png"
JPEG = "image/jpeg"
TIFF = "image/tiff"
IMAGE_TYPES = frozenset({PNG, JPEG, TIFF})
INGESTIBLE = frozenset({PDF, *IMAGE_TYPES})
UNKNOWN = "application/octet-stream"

_SIGNATURES = (
    (b"%PDF-", PDF),
    (b"\x89PNG\r\n\x1a\n", PNG),
    (b"\xff\xd8\xff", JPEG),
    (b"II*\x00", TIFF),
    (b"MM\x00*", TIFF),
)


def sniff_mime_type(head: bytes) -> str:
    """The type the leading bytes announce; UNKNOWN when none matches."""
    # Some PDF writers put a few bytes of junk before the header; readers allow 1 KiB.
    if b"%PDF-" in head[:1024]:
        return PDF
    return next((mime for magic, mime in _SIGNATURES if head.startswith(magic)), UNKNOWN)
