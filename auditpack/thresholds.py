"""Settings into the check thresholds. Apart from `auditpack.collection` (which re-exports it) so that commands
that only evaluate stored evidence (`status`, `packet`) do not load the AWS collection stack (boto3) to get them."""

from __future__ import annotations

from auditpack.settings import Settings
from evidence.checks.thresholds import Thresholds


def thresholds_from_settings(settings: Settings) -> Thresholds:
    return Thresholds(
        password_min_length=settings.password_min_length,
        password_reuse_prevention=settings.password_reuse_prevention,
        password_max_age_days=settings.password_max_age_days,
        access_key_max_age_days=settings.access_key_max_age_days,
        credential_unused_days=settings.credential_unused_days,
        log_retention_min_days=settings.log_retention_min_days,
        rds_backup_retention_min_days=settings.rds_backup_retention_min_days,
        certificate_min_days_valid=settings.certificate_min_days_valid,
        inspector_critical_max_open_days=settings.inspector_critical_max_open_days,
        threat_finding_max_untriaged_days=settings.threat_finding_max_untriaged_days,
        human_session_max_hours=settings.human_session_max_hours,
        classification_tag_keys=tuple(settings.classification_tag_keys),
        unrestricted_classifications=tuple(settings.unrestricted_classifications),
        ephi_accounts=tuple(settings.ephi_accounts),
        ephi_classifications=tuple(settings.ephi_classifications),
    )
