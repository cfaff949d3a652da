"""Document ingest end to end: upload, ingest, pages, artifacts, and every way it can fail."""

import uuid
from typing import Any

from tests import sample_documents as docs
from tests.conftest import Services
from tests.helpers import Stack, Tenant, start_stack

INVOICE = [
    ["Invoice 2026-114 for Acme Industries", "Total due: 1,250.00 EUR", "Payment within 30 days"],
    ["Second page lists the delivered items", "Forty widgets and twelve gadgets"],
    ["Third page: terms and conditions apply", "Signed in Rotterdam"],
]
SCAN = [["Quarterly shipping report", "Containers arrived in Rotterdam"]]


async def upload(
    stack: Stack, tenant: Tenant, content: bytes, name: str, ingest: bool = True
) -> dict[str, Any]:
    response = await stack.client.post(
        f"/api/documents?ingest={str(ingest).lower()}",
        files={"file": (name, content, "application/octet-stream")},
        headers=tenant.headers,
    )
    assert response.status_code == (202 if ingest else 201), response.text
    body: dict[str, Any] = response.json()
    return body


async def ingested(stack: Stack, tenant: Tenant, content: bytes, name: str) -> dict[str, Any]:
    accepted = await upload(stack, tenant, content, name)
    await stack.wait_for(tenant, accepted["jobRunId"])
    return await stack.get(tenant, f"/api/documents/{accepted['documentId']}")


async def pages_of(stack: Stack, tenant: Tenant, document_id: str) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = await stack.get(tenant, f"/api/documents/{document_id}/pages")
    return result


async def test_text_pdf_pages_and_text_artifact(stack: Stack) -> None:
    tenant = await stack.new_tenant()
    document = await ingested(stack, tenant, docs.text_pdf(INVOICE), "invoice.pdf")
    pages = await pages_of(stack, tenant, document["id"])
    artifacts = await stack.get(tenant, f"/api/documents/{document['id']}/artifacts")

    assert document["status"] == "DONE"
    assert document["pageCount"] == 3
    assert document["mimeType"] == "application/pdf"
    assert [p["pageNumber"] for p in pages] == [1, 2, 3]
    for page, lines in zip(pages, INVOICE, strict=True):
        assert page["method"] == "TEXT"
        assert page["confidence"] is None
        assert page["text"].splitlines() == lines
    assert [a["type"] for a in artifacts] == ["TEXT"]
    assert artifacts[0]["content"] == "\n\n".join(p["text"] for p in pages)


async def test_scanned_pdf_is_read_by_ocr_with_confidence(stack: Stack) -> None:
    tenant = await stack.new_tenant()
    document = await ingested(stack, tenant, docs.scanned_pdf(SCAN), "scan.pdf")
    [page] = await pages_of(stack, tenant, document["id"])

    assert document["status"] == "DONE"
    assert page["method"] == "OCR"
    assert "Quarterly shipping report" in page["text"]
    assert "Rotterdam" in page["text"]
    assert 50 < page["confidence"] <= 100


async def test_mixed_document_uses_text_layer_or_ocr_per_page(stack: Stack) -> None:
    tenant = await stack.new_tenant()
    mixed = docs.merged(docs.text_pdf(INVOICE[:1]), docs.scanned_pdf(SCAN))
    document = await ingested(stack, tenant, mixed, "mixed.pdf")
    pages = await pages_of(stack, tenant, document["id"])

    assert [p["method"] for p in pages] == ["TEXT", "OCR"]
    assert "Acme Industries" in pages[0]["text"]
    assert "Containers arrived" in pages[1]["text"]


async def test_png_jpeg_and_tiff_are_one_page_scans(stack: Stack) -> None:
    tenant = await stack.new_tenant()
    image = docs.scan_image(SCAN[0])
    for fmt, mime in (("PNG", "image/png"), ("JPEG", "image/jpeg"), ("TIFF", "image/tiff")):
        document = await ingested(stack, tenant, docs.image_bytes(image, fmt), f"scan.{fmt}")
        [page] = await pages_of(stack, tenant, document["id"])
        assert document["mimeType"] == mime
        assert document["pageCount"] == 1
        assert page["method"] == "OCR"
        assert "Rotterdam" in page["text"], fmt


async def test_reingest_replaces_pages_and_artifacts(stack: Stack) -> None:
    tenant = await stack.new_tenant()
    document = await ingested(stack, tenant, docs.text_pdf(INVOICE), "invoice.pdf")
    again = await stack.client.post(
        f"/api/documents/{document['id']}/ingest",
        headers={**tenant.headers, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert again.status_code == 202
    run = await stack.wait_for(tenant, again.json()["jobRunId"])
    assert run["status"] == "COMPLETED"
    counts = await stack.sql(
        "SELECT (SELECT count(*) FROM document_pages WHERE document_id = $1),"
        " (SELECT count(*) FROM document_artifacts WHERE document_id = $1)",
        uuid.UUID(document["id"]),
    )
    assert tuple(counts[0]) == (3, 1)


async def _fails_with(stack: Stack, tenant: Tenant, content: bytes, name: str) -> str:
    accepted = await upload(stack, tenant, content, name)
    run = await stack.wait_for(tenant, accepted["jobRunId"])
    document = await stack.get(tenant, f"/api/documents/{accepted['documentId']}")
    assert run["status"] == "FAILED"
    assert run["attempt"] == 1, "bad files are not retried"
    assert document["status"] == "FAILED"
    assert document["error"] == run["error"]
    assert await pages_of(stack, tenant, accepted["documentId"]) == []
    error: str = run["error"]
    return error


async def test_broken_encrypted_and_unsupported_files_fail_cleanly(stack: Stack) -> None:
    tenant = await stack.new_tenant()
    cases = [
        (b"%PDF-1.7\nthis is not really a PDF", "broken.pdf", "not a readable PDF"),
        (docs.encrypted(docs.text_pdf(INVOICE)), "locked.pdf", "encrypted"),
        (b"PK\x03\x04 a zip archive", "archive.zip", "application/octet-stream files cannot"),
        (b"\x89PNG\r\n\x1a\n truncated", "broken.png", "image cannot be read"),
    ]
    for content, name, fragment in cases:
        assert fragment in await _fails_with(stack, tenant, content, name), name


async def test_limits_on_size_and_pages(services: Services) -> None:
    prefix = f"docs-{uuid.uuid4().hex[:8]}-"
    async with start_stack(services, prefix, doc_max_upload_mb=1, doc_max_pages=2) as stack:
        tenant = await stack.new_tenant()
        too_big = await stack.client.post(
            "/api/documents",
            files={"file": ("big.pdf", b"%PDF-" + b"0" * (1024 * 1024), "application/pdf")},
            headers=tenant.headers,
        )
        error = await _fails_with(stack, tenant, docs.text_pdf(INVOICE), "long.pdf")
        listed = await stack.get(tenant, "/api/documents")

    assert too_big.status_code == 413
    assert too_big.json()["code"] == "payload_too_large"
    assert error == "the PDF has 3 pages; the limit is 2"
    assert len(listed) == 1, "the refused upload left no document"


async def test_document_from_an_exported_file(stack: Stack) -> None:
    tenant = await stack.new_tenant()
    export = await stack.start_export(tenant, {"entity": "job_runs"})
    run = await stack.wait_for(tenant, export["jobRunId"])
    created = await stack.client.post(
        "/api/documents/from-file",
        json={"fileObjectId": run["result"]["fileObjectId"]},
        headers=tenant.headers,
    )
    assert created.status_code == 201
    document = created.json()
    assert document["source"] == "FILE_OBJECT"
    ingest = await stack.client.post(
        f"/api/documents/{document['id']}/ingest", headers=tenant.headers
    )
    failed = await stack.wait_for(tenant, ingest.json()["jobRunId"])
    assert failed["error"].startswith("text/csv files cannot be ingested")


async def test_other_orgs_cannot_read_or_ingest_a_document(stack: Stack) -> None:
    owner, intruder = await stack.new_tenant(), await stack.new_tenant()
    document = await ingested(stack, owner, docs.text_pdf(INVOICE[:1]), "one.pdf")
    for method, path in (
        ("GET", f"/api/documents/{document['id']}"),
        ("GET", f"/api/documents/{document['id']}/pages"),
        ("GET", f"/api/documents/{document['id']}/artifacts"),
        ("POST", f"/api/documents/{document['id']}/ingest"),
    ):
        response = await stack.client.request(method, path, headers=intruder.headers)
        assert response.status_code == 404, path
    other_file = await stack.client.post(
        "/api/documents/from-file",
        json={"fileObjectId": document["fileObjectId"]},
        headers=intruder.headers,
    )
    assert other_file.status_code == 404
