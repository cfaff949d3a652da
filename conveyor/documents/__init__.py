"""Document ingest: formats, page extraction with OCR, and how ingest is requested."""
