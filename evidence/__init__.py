"""Evidence: what AWS said, and when.

Collectors read AWS and store raw, canonical JSON snapshots; checks read those snapshots and conclude. This
package holds the store (SQLAlchemy models, content-addressed blobs in the database or in S3 with Object Lock
(`blobstore`), the per-run hash chain), the collectors and the checks. It never imports `frameworks`,
`reports`, `api` or `auditpack`.
"""
