"""Amazon Inspector: scanning turned on per resource type, and the critical findings its scans would hold.

A finding is what Inspector's own scanning produces; AWS offers no API to create one. `CriticalFinding` describes
one as data and `finding_document` shapes it as ListFindings answers it; planting it is the caller's business
(moto answers ListFindings from a queue its backend holds: the demo's `simulated.py` and the tests' scenario
estate fill it in-process, as they set the other facts AWS has no API for).
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any, Literal

from auditpack.estate.target import Spec, Target

ScanType = Literal["EC2", "ECR", "LAMBDA", "LAMBDA_CODE"]


class Inspector(Spec):
    scans: tuple[ScanType, ...] = ("EC2", "ECR", "LAMBDA")


def plant_inspector(target: Target, inspector: Inspector) -> None:
    """Inspector enabled in the target's account and region for the resource types of `inspector.scans`."""
    target.client("inspector2").enable(accountIds=[target.account_id], resourceTypes=list(inspector.scans))


class CriticalFinding(Spec):
    """An active critical package vulnerability in a Lambda function, first observed `days_open` days ago."""

    vulnerability: str  # e.g. CVE-2024-6345
    package: str
    version: str
    fixed_in: str
    function: str  # the function's name, in the account and region the finding is planted in
    days_open: int


def finding_document(account_id: str, region: str, finding: CriticalFinding, *, now: datetime) -> dict[str, Any]:
    """The finding as Inspector's ListFindings returns it (times in epoch seconds, as its JSON carries them)."""
    first = (now - timedelta(days=finding.days_open)).timestamp()
    number = hashlib.sha256(f"{account_id}/{region}/{finding.vulnerability}/{finding.function}".encode()).hexdigest()[
        :32
    ]
    function_arn = f"arn:aws:lambda:{region}:{account_id}:function:{finding.function}"
    return {
        "findingArn": f"arn:aws:inspector2:{region}:{account_id}:finding/{number}",
        "awsAccountId": account_id,
        "type": "PACKAGE_VULNERABILITY",
        "title": f"{finding.vulnerability} - {finding.package}",
        "description": f"A vulnerability in {finding.package} {finding.version}.",
        "remediation": {"recommendation": {"text": f"Upgrade {finding.package} to {finding.fixed_in}."}},
        "severity": "CRITICAL",
        "status": "ACTIVE",
        "firstObservedAt": first,
        "lastObservedAt": now.timestamp(),
        "updatedAt": now.timestamp(),
        "inspectorScore": 9.8,
        "fixAvailable": "YES",
        "exploitAvailable": "YES",
        "resources": [{"type": "AWS_LAMBDA_FUNCTION", "id": function_arn, "region": region, "partition": "aws"}],
        "packageVulnerabilityDetails": {
            "vulnerabilityId": finding.vulnerability,
            "source": "NVD",
            "vulnerablePackages": [
                {"name": finding.package, "version": finding.version, "fixedInVersion": finding.fixed_in}
            ],
        },
    }
