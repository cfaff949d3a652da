"""Page text from PDFs and images: the text layer where there is one, OCR where not.

Everything here is blocking (pypdf, pdfium, tesseract): the activities call it
through worker threads, and tesseract runs as its own process per page with
one thread (OMP_THREAD_LIMIT=1), so pages OCR in parallel across cores.
"""

import io
from dataclasses import dataclass

import pypdfium2
import pytesseract
from PIL import Image, UnidentifiedImageError
from pypdf import PdfReader
from pypdf.errors import PdfReadError

from conveyor.documents.formats import IMAGE_TYPES, PDF

# A page whose text layer has fewer letters than this is treated as scanned.
MIN_TEXT_CHARS = 16
TEXT, OCR = "TEXT", "OCR"


class UnreadableDocument(Exception):
    """The file cannot be ingested as it is: another attempt would fail the same way."""


@dataclass(frozen=True)
class PageText:
    page_number: int
    text: str
    method: str
    confidence: float | None


def count_pages(data: bytes, mime_type: str, max_pages: int) -> int:
    """Checks the file can be read and returns its page count."""
    if mime_type in IMAGE_TYPES:
        _open_image(data)
        return 1
    if mime_type != PDF:
        raise UnreadableDocument(
            f"{mime_type} files cannot be ingested; upload a PDF, PNG, JPEG or TIFF"
        )
    pages = len(_open_pdf(data).pages)
    if pages > max_pages:
        raise UnreadableDocument(f"the PDF has {pages} pages; the limit is {max_pages}")
    return pages


def text_layers(data: bytes, mime_type: str, page_numbers: list[int]) -> dict[int, PageText]:
    """The pages (1-based) whose text layer is usable; the others need OCR."""
    if mime_type in IMAGE_TYPES:
        return {}
    reader = _open_pdf(data)
    found = {}
    for number in page_numbers:
        text = (reader.pages[number - 1].extract_text() or "").strip()
        if sum(ch.isalnum() for ch in text) >= MIN_TEXT_CHARS:
            found[number] = PageText(number, text, TEXT, None)
    return found


@dataclass(frozen=True)
class OcrSettings:
    languages: str = "eng"
    dpi: int = 300


def ocr_page(data: bytes, mime_type: str, page_number: int, ocr: OcrSettings) -> PageText:
    """The page's image (rendered at `ocr.dpi` for a PDF) read by tesseract."""
    if mime_type in IMAGE_TYPES:
        image = _open_image(data)
    else:
        image = _render(data, page_number, ocr.dpi)
    return _ocr(image, page_number, ocr)


def _open_pdf(data: bytes) -> PdfReader:
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise UnreadableDocument("the PDF is encrypted; upload it without a password")
        return reader
    except (PdfReadError, ValueError, KeyError) as err:
        raise UnreadableDocument(f"the file is not a readable PDF ({err})") from err


def _open_image(data: bytes) -> Image.Image:
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (UnidentifiedImageError, OSError) as err:
        raise UnreadableDocument(f"the image cannot be read ({err})") from err
    return image


def _render(data: bytes, page_number: int, dpi: int) -> Image.Image:
    document = pypdfium2.PdfDocument(data)
    try:
        page = document[page_number - 1].render(scale=dpi / 72, grayscale=True)
        image: Image.Image = page.to_pil()
        return image
    finally:
        document.close()


def _ocr(image: Image.Image, page_number: int, ocr: OcrSettings) -> PageText:
    try:
        data = pytesseract.image_to_data(
            _for_tesseract(image), lang=ocr.languages, output_type=pytesseract.Output.DICT
        )
    except pytesseract.TesseractNotFoundError as err:
        raise UnreadableDocument(
            f"page {page_number} is scanned and needs OCR, but tesseract is not installed:"
            " install Debian's tesseract-ocr (apt-get install tesseract-ocr)"
        ) from err
    except pytesseract.TesseractError as err:
        raise UnreadableDocument(f"OCR of page {page_number} failed: {err.message}") from err
    return PageText(page_number, _lines(data), OCR, _mean_confidence(data))


def _for_tesseract(image: Image.Image) -> Image.Image:
    """Grayscale, handed over uncompressed: pytesseract writes the image to a file for
    tesseract, and a 300 DPI page compressed as PNG costs about as much as reading it."""
    gray = image if image.mode == "L" else image.convert("L")
    gray.format = "PPM"  # for a grayscale image, PIL writes PGM (P5)
    return gray


def _lines(data: dict[str, list[object]]) -> str:
    """Tesseract's words, put back into its lines and paragraphs."""
    lines: dict[tuple[int, int, int], list[str]] = {}
    for i, word in enumerate(data["text"]):
        if str(word).strip():
            key = (
                int(str(data["block_num"][i])),
                int(str(data["par_num"][i])),
                int(str(data["line_num"][i])),
            )
            lines.setdefault(key, []).append(str(word).strip())
    text, previous = [], None
    for key in sorted(lines):
        if previous is not None and key[:2] != previous[:2]:
            text.append("")
        text.append(" ".join(lines[key]))
        previous = key
    return "\n".join(text)


def _mean_confidence(data: dict[str, list[object]]) -> float | None:
    scores = [
        float(str(conf))
        for word, conf in zip(data["text"], data["conf"], strict=True)
        if str(word).strip() and float(str(conf)) >= 0
    ]
    return round(sum(scores) / len(scores), 2) if scores else None
