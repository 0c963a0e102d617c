"""The demo's simulated AWS: moto in-process, fake credentials that exist only while the demo runs, seeded ids,
the facts AWS has no API for, and one correction to moto where it answers unlike AWS.

Nothing here talks to a network or reads the user's AWS configuration. Everything moto does differently from
AWS in a way the demo's output shows is listed in `NOTES`, which the demo prints.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

import boto3

from auditpack.demo.build import BuiltEstate
from auditpack.estate.detection import guardduty_administrator_as_aws
from auditpack.estate.inspector import finding_document
from core.errors import InputError

# Fake credentials, and no host AWS configuration (profiles, endpoints), so nothing can reach a real account.
FAKE_ENV = {
    "AWS_ACCESS_KEY_ID": "AKIADEMOACMEHEALTH00",
    "AWS_SECRET_ACCESS_KEY": "demo-secret-not-a-real-key",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "MOTO_EC2_LOAD_DEFAULT_AMIS": "false",  # 1,300 built-in images and their snapshots are not Acme's
}
UNSET_ENV = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ENDPOINT_URL",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "MOTO_ACCOUNT_ID",
)

NOTES = (
    "SSM instance information and patch states, AWS Backup selections and restore testing, Security Hub's enabled "
    "standards, AWS Artifact's agreements (the HIPAA BAA), GuardDuty's publishing destinations and members, Macie's "
    "automated discovery and findings are not implemented by moto: the collectors record them as gaps and the "
    "checks that need them report 'error', exactly as they would for an API that AWS refused.",
    "moto answers GuardDuty's GetAdministratorAccount with field names botocore does not read; the demo's moto "
    "answers with AWS's own. moto keeps a member's delegated administrator in the member account, so the estate "
    "designates it from each member rather than once from the management account.",
    "moto has no IAM Identity Center provisioning: the demo creates, through IAM, the AWSReservedSSO_ roles "
    "Identity Center would create in the accounts its permission sets are assigned to.",
    "Amazon Inspector's findings come from its own scans, which moto does not run: the demo gives moto the critical "
    "findings the estate data lists (estate.yaml, inspector_findings), which Inspector's ListFindings then returns.",
    "GuardDuty's findings come from its own analysis, which moto does not run: the estate imports the ones it lists "
    "(estate.yaml, threat_findings) into Security Hub with BatchImportFindings, their triage status included (AWS "
    "sets that with BatchUpdateFindings, which moto lacks); Security Hub's GetFindings then returns them.",
    "moto dates every IAM credential report 2015-02-02; the demo's moto gives the time it built the report, as "
    "AWS does (otherwise every IAM finding would be stale).",
    "moto creates the keys services encrypt with by default (alias/aws/ebs, alias/aws/dynamodb) as customer-managed "
    "keys that never rotate; in AWS they are AWS-managed and rotate every year, and the demo's moto says so.",
    "Root-user MFA, access-key ages and last use have no AWS API: the demo sets them directly in moto.",
    "moto keeps no tags for trails, GuardDuty detectors and backup plans: their owners, and those of the security "
    "services' settings, come from the demo's ownership map (owners.yaml), as AUDITPACK_OWNERS_FILE gives them.",
)


class DemoUnavailable(InputError):
    """The demo needs moto (the `demo` extra), which is not installed."""


def require_moto() -> None:
    if importlib.util.find_spec("moto") is None:
        raise DemoUnavailable(
            "auditpack demo simulates AWS with moto, which is not installed",
            hint="pip install 'auditpack[demo]' (or run `make demo`, which installs it)",
        )


@contextmanager
def _environment() -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in (*FAKE_ENV, *UNSET_ENV)}
    try:
        for name in UNSET_ENV:
            os.environ.pop(name, None)
        os.environ.update(FAKE_ENV)
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextmanager
def _credential_report_time() -> Iterator[None]:
    """moto answers GetCredentialReport with a fixed GeneratedTime (2015-02-02). It builds the report's content
    from the users as they are when asked, so the moment of the answer is the report's true generation time."""
    from moto.iam.responses import IamResponse

    original = IamResponse.get_credential_report

    def get_credential_report(self: Any) -> Any:
        answer = original(self)
        answer.result["GeneratedTime"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return answer

    with mock.patch.object(IamResponse, "get_credential_report", get_credential_report):
        yield


@contextmanager
def simulated_aws(*, seed: int, region: str) -> Iterator[boto3.Session]:
    """A fresh, empty moto world with stable ids, and a session in its default (management) account."""
    require_moto()
    from moto import mock_aws
    from moto.moto_api._internal import mock_random

    with _environment(), mock_aws(), _credential_report_time(), guardduty_administrator_as_aws():
        mock_random.seed(seed)
        yield boto3.Session(region_name=region)


def set_facts_without_api(built: BuiltEstate, *, now: datetime | None = None) -> None:
    """Facts that only time, the console or AWS's own scanning create: root MFA and keys, key ages and last use,
    last sign-in, the critical findings Inspector holds open, and the management account's name (moto calls it
    'master')."""
    from moto.iam.models import AccessKeyLastUsed, iam_backends
    from moto.inspector2.models import inspector2_backends
    from moto.organizations.models import organizations_backends

    now = now or datetime.now(UTC)
    spec = built.spec
    for account in spec.accounts:
        iam = iam_backends[built.account_ids[account.key]]["global"]
        iam.account_summary._account_mfa_enabled = int(account.root.mfa)
        iam.account_summary._account_access_keys_present = int(account.root.access_keys)
        for user in account.users:
            moto_user = iam.get_user(user.name)
            oldest = max((key.age_days for key in user.access_keys), default=0)
            moto_user.create_date = now - timedelta(days=oldest, hours=1)
            if user.password_last_used_days is not None:
                moto_user.password_last_used = now - timedelta(days=user.password_last_used_days, hours=2)
            for key, moto_key in zip(user.access_keys, moto_user.access_keys, strict=True):
                moto_key.create_date = now - timedelta(days=key.age_days)
                if key.last_used_days is not None:
                    used = now - timedelta(days=key.last_used_days, hours=1)
                    moto_key.last_used = AccessKeyLastUsed(used, "s3", spec.home_region)
        account_id = built.account_ids[account.key]
        for name, region in account.regions.items():
            if region.inspector_findings:  # moto answers ListFindings from this queue (its documented way to seed)
                documents = [finding_document(account_id, name, f, now=now) for f in region.inspector_findings]
                inspector2_backends[account_id][name].findings_queue.append(documents)
    organizations = organizations_backends[built.management_id]["aws"]
    management = organizations.get_account_by_id(built.management_id)
    management.name = spec.accounts[0].name
    management.email = spec.accounts[0].email


def correct_aws_managed_keys(built: BuiltEstate) -> None:
    """moto creates the keys AWS services encrypt with by default (alias/aws/ebs, alias/aws/dynamodb, ...) as
    CUSTOMER keys that never rotate. In AWS they are AWS-managed (KeyManager AWS) and rotated every year:
    describe them as AWS would."""
    from moto.kms.models import kms_backends

    for account_id in built.account_ids.values():
        for region in built.spec.regions:
            for key in kms_backends[account_id][region].keys.values():
                if any(alias.startswith("alias/aws/") for alias in key.aliases):
                    key.key_manager = "AWS"
                    key.key_rotation_status = True
