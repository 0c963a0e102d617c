"""Sessions: scope validation, client configuration, refreshable role credentials, the s3control host fix."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.awsrequest import AWSRequest
from moto import mock_aws

from evidence.aws.calls import describe_error
from evidence.aws.scope import CollectionScope, ScopeError
from evidence.aws.session import AccountSession, assume_role_session, base_session, client_config, fix_s3control_host
from tests.moto_server import fake_aws_env


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"org": True, "accounts": ("111111111111",)}, "either --org or --account"),
        ({"accounts": ("1234",)}, "'1234' is not 12 digits"),
        ({"regions": ("Europe",)}, "'Europe' is not a region name"),
        ({"role_name": "bad role"}, "not a valid IAM role name"),
        ({"max_attempts": 0}, "at least 1"),
    ],
)
def test_bad_scopes_are_refused_precisely(kwargs: dict, message: str) -> None:
    with pytest.raises(ScopeError, match=message):
        CollectionScope(**kwargs)


def test_scope_description_has_no_session_and_deduplicates() -> None:
    scope = CollectionScope(
        regions=("us-east-1", "us-east-1", "eu-west-1"), session=boto3.Session(region_name="us-east-1")
    )
    assert scope.describe()["regions"] == ["us-east-1", "eu-west-1"]
    assert "session" not in scope.describe()


def test_an_unknown_profile_is_an_input_error() -> None:
    with fake_aws_env(), pytest.raises(ScopeError, match="AWS profile 'nope' not found"):
        base_session(CollectionScope(profile="nope"))


def test_clients_use_adaptive_retries_and_explicit_timeouts() -> None:
    config = client_config(CollectionScope(max_attempts=4, connect_timeout=3, read_timeout=20), pool_size=32)
    with fake_aws_env():
        client = AccountSession(
            "123456789012", config=config, boto_session=boto3.Session(region_name="us-east-1")
        ).client("ec2", "eu-west-1")
    assert client.meta.config.retries == {"mode": "adaptive", "total_max_attempts": 4}
    assert (client.meta.config.connect_timeout, client.meta.config.read_timeout) == (3, 20)
    assert client.meta.config.max_pool_connections == 32
    assert client.meta.region_name == "eu-west-1"


def test_role_credentials_are_refreshed_when_they_expire() -> None:
    calls: list[bool] = []
    with fake_aws_env(), mock_aws():
        base = boto3.Session(region_name="us-east-1")
        org = base.client("organizations")
        org.create_organization(FeatureSet="ALL")
        member = org.create_account(Email="m@example.com", AccountName="m")["CreateAccountStatus"]["AccountId"]
        session = assume_role_session(
            base,
            account_id=member,
            role_arn=f"arn:aws:iam::{member}:role/OrganizationAccountAccessRole",
            region="us-east-1",
            config=client_config(CollectionScope(), pool_size=4),
            on_call=lambda seconds, retries, failed: calls.append(failed),
        )
        sts = session.client("sts", "us-east-1")
        assert sts.get_caller_identity()["Account"] == member
        first = session.credentials.get_frozen_credentials().access_key
        # a long run: the credentials are about to expire, and the next call refreshes them
        session.credentials._expiry_time = datetime.now(UTC) + timedelta(seconds=30)
        assert sts.get_caller_identity()["Account"] == member
        assert session.credentials.get_frozen_credentials().access_key != first
    assert calls == [False, False]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "http://123456789012.127.0.0.1:5000/v20180820/configuration/publicAccessBlock",
            "http://127.0.0.1:5000/v20180820/configuration/publicAccessBlock",
        ),
        ("http://123456789012.localhost:5000/x", "http://localhost:5000/x"),
        (
            "https://123456789012.s3-control.us-east-1.amazonaws.com/x",
            "https://123456789012.s3-control.us-east-1.amazonaws.com/x",
        ),
        ("https://s3-control.example.com/x", "https://s3-control.example.com/x"),
    ],
)
def test_s3control_account_prefix_is_dropped_only_for_local_endpoints(url: str, expected: str) -> None:
    request = AWSRequest(method="GET", url=url)
    fix_s3control_host(request)
    assert request.url == expected


def test_error_codes_are_read_from_bodies_botocore_could_not_parse() -> None:
    from botocore.exceptions import ClientError

    xml = ClientError(
        {
            "Error": {
                "Code": "403",
                "Message": "<ErrorResponse><Error><Code>AccessDenied</Code>"
                "<Message>no</Message></Error></ErrorResponse>",
            },
            "ResponseMetadata": {"HTTPStatusCode": 403},
        },
        "ListKeys",
    )
    assert describe_error(xml) == ("AccessDenied", "no")
    html = ClientError(
        {
            "Error": {"Code": "500", "Message": "<html><title>500 Internal Server Error</title></html>"},
            "ResponseMetadata": {"HTTPStatusCode": 500},
        },
        "DescribeInstanceInformation",
    )
    assert describe_error(html) == ("HTTP500", "500 Internal Server Error")
    assert describe_error(NotImplementedError("not implemented"))[0] == "NotImplemented"


def test_fips_endpoints_on_every_client_when_asked() -> None:
    fips = client_config(CollectionScope(use_fips_endpoints=True), pool_size=4)
    with fake_aws_env():
        account = AccountSession("123456789012", config=fips, boto_session=boto3.Session(region_name="us-east-1"))
        endpoints = {
            service: account.client(service, "us-east-1").meta.endpoint_url for service in ("ec2", "sts", "iam")
        }
        gov = account.client("ec2", "us-gov-west-1").meta.endpoint_url
    assert endpoints == {
        "ec2": "https://ec2-fips.us-east-1.amazonaws.com",
        "sts": "https://sts-fips.us-east-1.amazonaws.com",
        "iam": "https://iam-fips.amazonaws.com",
    }
    assert gov == "https://ec2.us-gov-west-1.amazonaws.com"  # GovCloud's standard endpoints are its FIPS ones
    # not asked: botocore's own setting decides (an explicit False would override AWS_USE_FIPS_ENDPOINT)
    assert client_config(CollectionScope(), pool_size=4).use_fips_endpoint is None
    with fake_aws_env(AWS_USE_FIPS_ENDPOINT="true"):
        plain = AccountSession(
            "123456789012", config=client_config(CollectionScope(), pool_size=4), boto_session=boto3.Session()
        )
        assert plain.client("ec2", "us-east-1").meta.endpoint_url == "https://ec2-fips.us-east-1.amazonaws.com"


def test_sts_is_called_at_the_regional_endpoint_whatever_the_environment_says() -> None:
    config = client_config(CollectionScope(), pool_size=4)
    with fake_aws_env(AWS_STS_REGIONAL_ENDPOINTS="legacy"), mock_aws():
        assert boto3.Session(region_name="us-east-1").client("sts").meta.endpoint_url == "https://sts.amazonaws.com"
        base = base_session(CollectionScope(session=boto3.Session(region_name="us-east-1")))
        assert base.client("sts", region_name="us-east-1").meta.endpoint_url == "https://sts.us-east-1.amazonaws.com"
        member = assume_role_session(
            base,
            account_id="222222222222",
            role_arn="arn:aws:iam::222222222222:role/OrganizationAccountAccessRole",
            region="us-east-1",
            config=config,
        )
        assert member.client("sts", "us-east-1").meta.endpoint_url == "https://sts.us-east-1.amazonaws.com"
        gov = base_session(CollectionScope(session=boto3.Session(region_name="us-gov-west-1")))
        assert gov.client("sts").meta.endpoint_url == "https://sts.us-gov-west-1.amazonaws.com"
