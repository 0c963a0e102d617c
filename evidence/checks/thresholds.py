"""The limits checks judge against. Defaults are the issue's (and the frameworks' usual) values; auditpack feeds
them from AUDITPACK_* settings."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Thresholds:
    password_min_length: int = 14
    password_reuse_prevention: int = 24  # remembered passwords
    password_max_age_days: int = 90
    access_key_max_age_days: int = 90
    credential_unused_days: int = 90
    log_retention_min_days: int = 365
    rds_backup_retention_min_days: int = 7
    admin_ports: tuple[int, ...] = (22, 3389)
    certificate_min_days_valid: int = 30  # an in-use certificate expiring sooner fails
    # PCI DSS 6.3.3: critical security patches within one month of release; an Inspector finding open longer fails.
    inspector_critical_max_open_days: int = 30
    # PCI DSS 10.4.1 and 10.4.3: security events are reviewed daily and what the review finds is dealt with; a high or
    # critical threat finding nobody has triaged (Security Hub workflow NEW) for longer than this fails.
    threat_finding_max_untriaged_days: int = 7
    # The longest session a role people assume may grant (its MaxSessionDuration): after it, sign in again.
    human_session_max_hours: int = 4
    # Tag keys that record a data store's classification or criticality (the first present counts).
    classification_tag_keys: tuple[str, ...] = ("DataClassification", "data-classification", "Classification")
    # Classification values (compared case-insensitively) that ask for no server access logging and no
    # customer-managed key: data meant to be public, or only internal (log buckets, which S3 server access logs and
    # load balancer logs can reach only under SSE-S3, are typically classified so).
    unrestricted_classifications: tuple[str, ...] = ("public", "internal")
    # Which accounts hold ePHI (artifact.hipaa_baa_accepted): those listed, and those with a data store whose
    # classification tag (keys above) has one of these values (compared case-insensitively).
    ephi_accounts: tuple[str, ...] = ()
    ephi_classifications: tuple[str, ...] = ("ephi", "phi")

    def __post_init__(self) -> None:
        for name in (
            "password_min_length",
            "password_reuse_prevention",
            "password_max_age_days",
            "access_key_max_age_days",
            "credential_unused_days",
            "log_retention_min_days",
            "rds_backup_retention_min_days",
            "certificate_min_days_valid",
            "inspector_critical_max_open_days",
            "threat_finding_max_untriaged_days",
            "human_session_max_hours",
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 0:
                raise ValueError(f"threshold {name} must be a non-negative integer, got {value!r}")
        if not self.classification_tag_keys or not all(isinstance(k, str) and k for k in self.classification_tag_keys):
            raise ValueError(
                f"classification_tag_keys must name at least one tag key, got {self.classification_tag_keys!r}"
            )
        if not all(isinstance(v, str) and v for v in self.unrestricted_classifications):
            raise ValueError(
                f"unrestricted_classifications must be classification values, got {self.unrestricted_classifications!r}"
            )
        if not all(isinstance(a, str) and a.isdigit() and len(a) == 12 for a in self.ephi_accounts):
            raise ValueError(f"ephi_accounts must be 12-digit account ids, got {self.ephi_accounts!r}")
        if not all(isinstance(v, str) and v for v in self.ephi_classifications):
            raise ValueError(f"ephi_classifications must be non-empty tag values, got {self.ephi_classifications!r}")
