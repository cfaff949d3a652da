"""S3-compatible object storage (R2, S3, MinIO, SeaweedFS) through boto3.

boto3 blocks, so every call runs in a thread; the event loop stays free to
stream rows and heartbeat while parts upload.
"""

import asyncio
import hashlib
import logging
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from conveyor.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client as S3Client
else:
    S3Client = Any

log = logging.getLogger(__name__)

MIB = 1024 * 1024


class StorageError(Exception):
    """An S3 call failed; the message names the operation and the key."""


def create_s3_client(settings: Settings, endpoint_url: str | None = None) -> S3Client:
    return boto3.client(
        "s3",
        endpoint_url=endpoint_url or settings.s3_endpoint_url,
        region_name=settings.s3_region,
        aws_access_key_id=settings.s3_access_key_id,
        aws_secret_access_key=settings.s3_secret_access_key,
        config=Config(
            retries={"mode": "standard", "total_max_attempts": settings.s3_max_attempts},
            max_pool_connections=max(10, settings.export_upload_concurrency * 2),
            signature_version="s3v4",
            # SigV4 already hashes every body over HTTP and we keep our own
            # SHA-256; a third pass (CRC32) per part only costs CPU.
            request_checksum_calculation="when_required",
            s3={"addressing_style": "path"},
        ),
    )


def ensure_bucket(s3: S3Client, bucket: str) -> None:
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError:
        s3.create_bucket(Bucket=bucket)


def presigned_download_url(
    s3: S3Client, bucket: str, key: str, filename: str, content_type: str, expires_in: int
) -> str:
    return s3.generate_presigned_url(
        "get_object",
        Params={
            "Bucket": bucket,
            "Key": key,
            "ResponseContentDisposition": f'attachment; filename="{filename}"',
            "ResponseContentType": content_type,
        },
        ExpiresIn=expires_in,
    )


async def _call(operation: str, key: str, fn: Any, **kwargs: Any) -> Any:
    try:
        return await asyncio.to_thread(fn, **kwargs)
    except (BotoCoreError, ClientError) as err:
        raise StorageError(f"S3 {operation} of {key!r} failed: {err}") from err


class _OrderedSha256:
    """SHA-256 over parts fed in order, computed on a thread of its own.

    hashlib releases the GIL on large buffers, so hashing a part runs beside
    the event loop (reading COPY data) instead of between its callbacks; one
    worker thread keeps the parts in order.
    """

    def __init__(self) -> None:
        self._sha256 = hashlib.sha256()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sha256")
        self._last: Future[None] | None = None

    def feed(self, data: bytes) -> None:
        self._last = self._executor.submit(self._sha256.update, data)

    async def hexdigest(self) -> str:
        if self._last is not None:
            await asyncio.wrap_future(self._last)
        self.close()
        return self._sha256.hexdigest()

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


class StreamingUpload:
    """Writes a byte stream of unknown length to one object with flat memory.

    Bytes are cut into parts of `part_size`, and up to `concurrency` parts
    upload at once; `write` waits when that many are in flight, so memory
    stays near `(concurrency + 1) * part_size` whatever the object's size.
    A stream that ends within its first part becomes a single PUT. `abort`
    removes every trace, including uploads a killed earlier attempt left open.
    """

    def __init__(
        self,
        s3: S3Client,
        bucket: str,
        key: str,
        content_type: str,
        part_size: int,
        concurrency: int,
    ) -> None:
        self._s3, self._bucket, self._key = s3, bucket, key
        self._content_type = content_type
        self._part_size = part_size
        self._concurrency = concurrency
        self._chunks: list[bytes] = []
        self._buffered = 0
        self._hasher = _OrderedSha256()
        self._upload_id: str | None = None
        self._in_flight: set[asyncio.Task[dict[str, Any]]] = set()
        self._parts: list[dict[str, Any]] = []
        self.size = 0
        self.sha256 = ""

    async def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        # Parts are exactly `part_size` (R2 requires equal parts but the last),
        # and joined once, so each byte is copied once on its way out.
        while chunk:
            room = self._part_size - self._buffered
            head, chunk = chunk[:room], chunk[room:]
            self._chunks.append(head)
            self._buffered += len(head)
            if self._buffered == self._part_size:
                await self._send_part(self._take_buffer())

    def _take_buffer(self) -> bytes:
        part = b"".join(self._chunks)
        self._hasher.feed(part)
        self._chunks.clear()
        self._buffered = 0
        return part

    async def complete(self) -> None:
        """Finishes the object; `size` and `sha256` then describe it."""
        await self._finish_upload()
        self.sha256 = await self._hasher.hexdigest()

    async def _finish_upload(self) -> None:
        if self._upload_id is None:
            await _call(
                "PutObject", self._key, self._s3.put_object,
                Bucket=self._bucket, Key=self._key, Body=self._take_buffer(),
                ContentType=self._content_type,
            )  # fmt: skip
            return
        if self._buffered:
            await self._send_part(self._take_buffer())
        await self._drain(everything=True)
        parts = sorted(self._parts, key=lambda part: int(part["PartNumber"]))
        await _call(
            "CompleteMultipartUpload", self._key, self._s3.complete_multipart_upload,
            Bucket=self._bucket, Key=self._key, UploadId=self._upload_id,
            MultipartUpload={"Parts": parts},
        )  # fmt: skip

    async def abort(self) -> None:
        """Cancels in-flight parts and aborts this and any stale upload of the key."""
        self._hasher.close()
        for task in self._in_flight:
            task.cancel()
        await asyncio.gather(*self._in_flight, return_exceptions=True)
        await abort_open_uploads(self._s3, self._bucket, self._key)

    async def _send_part(self, body: bytes) -> None:
        if self._upload_id is None:
            await abort_open_uploads(self._s3, self._bucket, self._key)
            created = await _call(
                "CreateMultipartUpload", self._key, self._s3.create_multipart_upload,
                Bucket=self._bucket, Key=self._key, ContentType=self._content_type,
            )  # fmt: skip
            self._upload_id = created["UploadId"]
        await self._drain(everything=False)
        number = len(self._parts) + len(self._in_flight) + 1
        self._in_flight.add(asyncio.create_task(self._upload_part(number, body)))

    async def _upload_part(self, number: int, body: bytes) -> dict[str, Any]:
        response = await _call(
            "UploadPart", self._key, self._s3.upload_part,
            Bucket=self._bucket, Key=self._key, UploadId=self._upload_id,
            PartNumber=number, Body=body,
        )  # fmt: skip
        return {"PartNumber": number, "ETag": response["ETag"]}

    async def _drain(self, everything: bool) -> None:
        limit = 0 if everything else self._concurrency - 1
        while len(self._in_flight) > limit:
            done, self._in_flight = await asyncio.wait(
                self._in_flight, return_when=asyncio.FIRST_COMPLETED
            )
            self._parts.extend(task.result() for task in done)


async def abort_open_uploads(s3: S3Client, bucket: str, key: str) -> None:
    """Aborts every unfinished multipart upload of `key` (a crashed attempt's, say)."""
    listing = await _call(
        "ListMultipartUploads", key, s3.list_multipart_uploads, Bucket=bucket, Prefix=key
    )
    for upload in listing.get("Uploads", []):
        if upload["Key"] == key:
            log.info("aborting unfinished upload", extra={"key": key})
            await _call(
                "AbortMultipartUpload", key, s3.abort_multipart_upload,
                Bucket=bucket, Key=key, UploadId=upload["UploadId"],
            )  # fmt: skip
