"""Where evidence payloads (and packet files) live: the database (default) or an S3 bucket with Object Lock.

Content addressing is the contract: an object's name is the SHA-256 of its bytes, and it is put only if absent,
so a nightly capture of unchanged state adds no object. The database always keeps the `blobs` row (hash and
size) that evidence rows and the chain point at; with the database store the row holds the bytes too
(compressed), with S3 it holds none and the bytes are a write-once object under `prefix/sha[:2]/sha`, locked in
compliance mode until `now + retention`. Every read hashes what came back: an altered or missing object is a
`VerificationError` naming its key, never a silent pass.

A store is attached to an engine once, at wiring (`attach`), and every `EvidenceStore` on that engine finds it
(`blob_store`); nothing here reads the environment.
"""

from __future__ import annotations

import base64
import hashlib
import threading
import weakref
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import IO, Any, Protocol, TypeVar
from urllib.parse import urlsplit

from sqlalchemy import Engine, select

from core.clock import utcnow
from core.errors import InputError, NotFoundError, StoreError, VerificationError
from evidence.models import Blob

T = TypeVar("T")
S3_SCHEME = "s3"
DEFAULT_WORKERS = 16  # S3 round trips are latency-bound: puts and prefetched gets run this many at once


class BlobStore(Protocol):
    """Content-addressed bytes. `external` stores keep the bytes outside the database (its row holds none)."""

    external: bool

    def put_many(self, blobs: Mapping[str, bytes]) -> int:
        """Store each `sha256 -> bytes` that is absent; returns how many objects were written."""

    def get(self, sha256: str) -> bytes:
        """The bytes named by `sha256`, checked against it (VerificationError if missing or altered)."""

    def exists(self, sha256: str) -> bool: ...


class DatabaseBlobStore:
    """The default: the bytes are the `blobs` row's `data` column, zlib-compressed. The recorder writes them with
    the evidence rows, in the same transaction; readers that join the row decode it directly (`payload_bytes`)."""

    external = False

    def __init__(self, engine: Engine | None = None) -> None:
        self._engine = engine

    def put_many(self, blobs: Mapping[str, bytes]) -> int:
        from evidence.recorder import insert_ignoring_duplicates  # the recorder imports this module

        engine = self._bound()
        with engine.begin() as connection:
            present = set(connection.scalars(select(Blob.sha256).where(Blob.sha256.in_(list(blobs)))))
            rows = [
                {"sha256": sha, "size": len(data), "data": zlib.compress(data, 6)}
                for sha, data in blobs.items()
                if sha not in present
            ]
            if rows:  # a concurrent writer's row wins: the same hash is the same bytes
                connection.execute(insert_ignoring_duplicates(Blob.__table__, engine.dialect.name), rows)
        return len(rows)

    def get(self, sha256: str) -> bytes:
        with self._bound().connect() as connection:
            data = connection.scalar(select(Blob.data).where(Blob.sha256 == sha256))
        if data is None:
            raise NotFoundError(f"no evidence payload with sha256 {sha256}")
        return check_sha256(sha256, decode_row(data), where=f"evidence payload {sha256}")

    def exists(self, sha256: str) -> bool:
        with self._bound().connect() as connection:
            return connection.scalar(select(Blob.sha256).where(Blob.sha256 == sha256)) is not None

    def _bound(self) -> Engine:
        if self._engine is None:
            raise StoreError("this database blob store is not bound to an engine")
        return self._engine


def decode_row(data: bytes) -> bytes:
    """The canonical bytes of a database blob row's `data` (zlib-compressed)."""
    return zlib.decompress(data)


def check_sha256(sha256: str, content: bytes, *, where: str) -> bytes:
    actual = hashlib.sha256(content).hexdigest()
    if actual != sha256:
        raise VerificationError(
            f"{where} was altered: its content hashes to {actual}, not {sha256}",
            hint="run `auditpack verify --store` to see every altered payload",
        )
    return content


@dataclass(frozen=True, slots=True)
class S3Location:
    bucket: str
    prefix: str

    @classmethod
    def parse(cls, url: str) -> S3Location:
        parts = urlsplit(url)
        if parts.scheme != S3_SCHEME or not parts.netloc:
            raise InputError(f"blob store {url!r} is not of the form s3://bucket[/prefix]")
        return cls(bucket=parts.netloc, prefix=parts.path.strip("/"))

    def key(self, sha256: str) -> str:
        name = f"{sha256[:2]}/{sha256}"
        return f"{self.prefix}/{name}" if self.prefix else name

    def url(self, sha256: str) -> str:
        return f"s3://{self.bucket}/{self.key(sha256)}"


class S3BlobStore:
    """Write-once objects in a bucket that has Object Lock enabled (checked when the store is opened)."""

    external = True

    def __init__(
        self,
        client: Any,
        location: S3Location,
        *,
        retention_days: int,
        workers: int = DEFAULT_WORKERS,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        if retention_days < 1:
            raise InputError("the blob store's retention must be at least one day")
        self._client = client
        self.location = location
        self.retention = timedelta(days=retention_days)
        self._clock = clock
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="blobstore")
        self.workers = workers
        self._check_object_lock()

    def _check_object_lock(self) -> None:
        bucket = self.location.bucket
        try:
            answer = self._client.get_object_lock_configuration(Bucket=bucket)
        except self._client.exceptions.ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code == "ObjectLockConfigurationNotFoundError":
                raise StoreError(
                    f"bucket {bucket} does not have S3 Object Lock enabled: evidence could be rewritten there. "
                    "Object Lock can only be turned on for a versioned bucket (create it with "
                    "--object-lock-enabled-for-bucket); auditpack refuses to store evidence in it"
                ) from None
            raise StoreError(f"cannot read the Object Lock configuration of bucket {bucket}: {code or exc}") from None
        enabled = answer.get("ObjectLockConfiguration", {}).get("ObjectLockEnabled")
        if enabled != "Enabled":
            raise StoreError(
                f"bucket {bucket} has Object Lock {enabled or 'not configured'}, not Enabled: evidence could be "
                "rewritten there; auditpack refuses to store evidence in it"
            )

    def exists(self, sha256: str) -> bool:
        try:
            self._client.head_object(Bucket=self.location.bucket, Key=self.location.key(sha256))
        except self._client.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def put(self, sha256: str, content: bytes | IO[bytes], *, checksum: bytes | None = None) -> bool:
        """Put one object unless it exists; True if written. `checksum`: the raw SHA-256 (S3 checks the bytes)."""
        if self.exists(sha256):
            return False
        digest = checksum if checksum is not None else bytes.fromhex(sha256)
        self._client.put_object(
            Bucket=self.location.bucket,
            Key=self.location.key(sha256),
            Body=content,
            ChecksumAlgorithm="SHA256",
            ChecksumSHA256=base64.b64encode(digest).decode(),
            ObjectLockMode="COMPLIANCE",
            ObjectLockRetainUntilDate=self._clock() + self.retention,
        )
        return True

    def put_many(self, blobs: Mapping[str, bytes]) -> int:
        futures = [self.pool.submit(self.put, sha256, content) for sha256, content in blobs.items()]
        return sum(1 for future in futures if future.result())

    def get(self, sha256: str) -> bytes:
        key = self.location.key(sha256)
        try:
            answer = self._client.get_object(Bucket=self.location.bucket, Key=key)
        except self._client.exceptions.ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("NoSuchKey", "404", "NotFound"):
                raise VerificationError(
                    f"object s3://{self.location.bucket}/{key} is missing",
                    hint="run `auditpack verify --store` to see every missing object",
                ) from None
            raise StoreError(f"cannot read s3://{self.location.bucket}/{key}: {code or exc}") from None
        return check_sha256(sha256, answer["Body"].read(), where=f"object s3://{self.location.bucket}/{key}")

    def size(self, sha256: str) -> int:
        """The stored size of an object (VerificationError naming the key if it is missing)."""
        key = self.location.key(sha256)
        try:
            answer = self._client.head_object(Bucket=self.location.bucket, Key=key)
        except self._client.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                raise VerificationError(f"object s3://{self.location.bucket}/{key} is missing") from None
            raise
        return int(answer["ContentLength"])

    def chunks(self, sha256: str, chunk_size: int = 64 * 1024) -> Iterator[bytes]:
        """Stream an object's bytes unchecked: the caller hashes them as they go (see `api.downloads`)."""
        key = self.location.key(sha256)
        try:
            answer = self._client.get_object(Bucket=self.location.bucket, Key=key)
        except self._client.exceptions.ClientError as exc:
            raise VerificationError(f"object s3://{self.location.bucket}/{key} is missing") from exc
        body = answer["Body"]
        try:
            yield from body.iter_chunks(chunk_size)
        finally:
            body.close()

    def get_many(self, sha256s: Iterable[str]) -> dict[str, bytes]:
        unique = list(dict.fromkeys(sha256s))
        return dict(zip(unique, self.pool.map(self.get, unique), strict=True))

    def prefetch(
        self, batches: Iterable[T], hashes: Callable[[T], Iterable[str]]
    ) -> Iterator[tuple[T, dict[str, bytes]]]:
        """Each batch with the payloads it names, fetching the next batch while the caller works on this one:
        at most two batches in flight, so memory stays bounded however many items a packet reads."""
        ahead: tuple[T, Future[dict[str, bytes]]] | None = None
        fetcher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="blobstore-prefetch")
        try:
            for batch in batches:
                current = (batch, fetcher.submit(self.get_many, hashes(batch)))
                if ahead is not None:
                    yield ahead[0], ahead[1].result()
                ahead = current
            if ahead is not None:
                yield ahead[0], ahead[1].result()
        finally:
            fetcher.shutdown(wait=True, cancel_futures=True)


_attached: weakref.WeakKeyDictionary[Engine, BlobStore] = weakref.WeakKeyDictionary()
_attached_lock = threading.Lock()


def attach(engine: Engine, store: BlobStore) -> None:
    """Make `store` the blob store of every reader and writer on `engine` (done once, by wiring)."""
    with _attached_lock:
        _attached[engine] = store


def blob_store(engine: Engine) -> BlobStore:
    """The blob store attached to `engine`, or the database store on it."""
    return _attached.get(engine) or DatabaseBlobStore(engine)


def payload_bytes(store: BlobStore, sha256: str, data: bytes | None) -> bytes:
    """The checked canonical bytes of one blob row: decoded from the row, or read from the external store."""
    if store.external:
        return store.get(sha256)
    if data is None:
        raise NotFoundError(f"no evidence payload with sha256 {sha256}")
    return check_sha256(sha256, decode_row(data), where=f"evidence payload {sha256}")


def write_policy(location: S3Location, *, partition: str = "aws") -> dict[str, Any]:
    """The IAM policy of the identity that writes an S3 blob store: kept apart from the read-only collection
    policy. Put (with a retention: s3:PutObjectRetention) and read objects under the prefix, read the bucket's
    Object Lock configuration, and list the prefix (without s3:ListBucket S3 answers 403, not 404, for an object
    that is absent, so "put if absent" could not tell). Deliberately absent: any delete, s3:BypassGovernanceRetention
    and changing the bucket's lock configuration."""
    bucket = f"arn:{partition}:s3:::{location.bucket}"
    listing: dict[str, Any] = {"Sid": "AuditpackBlobStoreList", "Effect": "Allow", "Action": ["s3:ListBucket"]}
    listing["Resource"] = bucket
    if location.prefix:
        listing["Condition"] = {"StringLike": {"s3:prefix": [f"{location.prefix}/*"]}}
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AuditpackBlobStoreObjects",
                "Effect": "Allow",
                "Action": ["s3:PutObject", "s3:PutObjectRetention", "s3:GetObject", "s3:GetObjectRetention"],
                "Resource": f"{bucket}/{location.prefix}/*" if location.prefix else f"{bucket}/*",
            },
            {
                "Sid": "AuditpackBlobStoreLockConfiguration",
                "Effect": "Allow",
                "Action": ["s3:GetBucketObjectLockConfiguration"],  # the IAM name of GetObjectLockConfiguration
                "Resource": bucket,
            },
            listing,
        ],
    }
