"""Owner attribution: configurable tag keys, then the ownership map (service, then account)."""

from pathlib import Path

import pytest

from evidence.owners import OwnerMap, OwnerMapError, load_owner_map, tag_dict
from tests.scenario import Collected


def test_first_configured_tag_key_wins() -> None:
    owners = OwnerMap(tag_keys=("Owner", "Team"))
    assert (
        owners.owner_of(
            service="s3", account_id="1", tags=[{"Key": "Team", "Value": "b"}, {"Key": "Owner", "Value": "a"}]
        )
        == "a"
    )
    assert owners.owner_of(service="s3", account_id="1", tags={"Team": "b"}) == "b"
    assert owners.owner_of(service="s3", account_id="1", tags=[{"Key": "owner", "Value": "c"}]) is None


def test_the_map_names_owners_by_service_then_account(tmp_path: Path) -> None:
    path = tmp_path / "owners.yaml"
    path.write_text('services:\n  rds: dba-team\naccounts:\n  "111111111111": payments\n')
    owners = load_owner_map(path, tag_keys=["Owner"])
    assert owners.owner_of(service="rds", account_id="111111111111", tags=[]) == "dba-team"
    assert owners.owner_of(service="s3", account_id="111111111111", tags=None) == "payments"
    assert owners.owner_of(service="s3", account_id="222222222222", tags=None) is None
    assert owners.owner_of(service="rds", account_id="1", tags=[{"Key": "Owner", "Value": "x"}]) == "x"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("accounts:\n  1234: team\n", "not a 12-digit account id"),
        ("services:\n  s3: ''\n", "non-empty string"),
        ("teams:\n  a: b\n", "unknown section(s) teams"),
        ("- a\n- b\n", "expected a mapping"),
        ("services: [\n", "not valid YAML"),
    ],
)
def test_a_malformed_map_is_refused_precisely(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "owners.yaml"
    path.write_text(text)
    with pytest.raises(OwnerMapError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_owner_map(path)


def test_tag_shapes() -> None:
    assert tag_dict([{"TagKey": "a", "TagValue": "1"}, {"key": "b", "value": "2"}]) == {"a": "1", "b": "2"}


def test_evidence_carries_owners_from_tags(collected: Collected) -> None:
    owners = {
        (r.kind, r.resource_id.rsplit("/", 1)[-1].rsplit(":", 1)[-1]): r.owner
        for r in collected.store.iter_evidence(
            collected.run.id, kinds=["s3.bucket", "ec2.instance", "iam.credential_report_user"]
        )
    }
    assert owners[("s3.bucket", "secure-bucket")] == "storage-team"
    assert owners[("ec2.instance", collected.estate.ids["running_instance"])] == "web-team"
    assert owners[("iam.credential_report_user", "alice")] == "identity"  # a user's tags, via authorization details
    assert owners[("s3.bucket", "plain-bucket")] is None
