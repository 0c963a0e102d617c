"""A second capture of an unchanged estate adds rows, never blob bytes: payloads are stored once per content hash,
and the values AWS moves on its own clock (delivery times, restore windows, metered sizes) are not recorded, so an
unchanged resource gives the same payload every night. bench/collect.py measures the same on a larger estate."""

from __future__ import annotations

import boto3
from moto import mock_aws
from sqlalchemy import func, select

from auditpack.estate.cloudtrail import Trail, plant_trail
from auditpack.estate.detection import plant_config_recorder
from auditpack.estate.dynamodb import Table, plant_table
from auditpack.estate.efs import FileSystem, plant_file_system
from auditpack.estate.logs import LogGroup, plant_log_group
from auditpack.estate.rds import Database, plant_database
from auditpack.estate.s3 import Bucket, plant_bucket
from auditpack.estate.target import Target
from evidence.collectors.registry import collectors
from evidence.models import Blob
from evidence.store import EvidenceStore
from evidence.volatile import NOT_RECORDED, VOLATILE, steady
from tests.evidence.collectors.one_account import REGION, collect_account, evidence
from tests.moto_server import fake_aws_env

# The collectors of every kind with volatile values, and S3 and IAM for the many payloads that never had any.
COLLECTORS = ("cloudtrail", "config", "rds", "efs", "dynamodb", "log_groups", "s3", "iam")


def _blobs(store: EvidenceStore) -> tuple[int, int]:
    """How many blobs the store holds, and their stored (compressed) bytes."""
    with store.sessions() as session:
        count, size = session.execute(select(func.count(), func.coalesce(func.sum(func.length(Blob.data)), 0))).one()
    return int(count), int(size)


def test_a_second_capture_of_an_unchanged_account_adds_rows_and_no_blob_bytes(sqlite_store: EvidenceStore) -> None:
    with fake_aws_env(), mock_aws():
        session = boto3.Session(region_name=REGION)
        target = Target.of(session, REGION)
        plant_bucket(target, Bucket(name="trail-logs", region=REGION, encryption="AES256"))
        plant_trail(target, Trail(name="org-trail", bucket="trail-logs", s3_data_events=False, alarms=False))
        plant_config_recorder(target, bucket="trail-logs")
        database = Database(id="orders", engine="postgres", tls_required=False)
        plant_database(target, database, username="admin", password="not-a-secret")
        cluster = {"Engine": "aurora-postgresql", "MasterUsername": "admin", "MasterUserPassword": "not-a-secret"}
        target.client("rds").create_db_cluster(DBClusterIdentifier="ledger", **cluster)
        plant_file_system(target, FileSystem(name="shared"))
        plant_table(target, Table(name="sessions"))
        plant_log_group(target, LogGroup(name="app", retention_days=365))

        first = collect_account(sqlite_store, session, COLLECTORS)
        after_first = _blobs(sqlite_store)
        second = collect_account(sqlite_store, session, COLLECTORS)
        after_second = _blobs(sqlite_store)

    assert second.evidence_count == first.evidence_count > 30
    assert after_second == after_first  # rows only: not one blob, not one byte
    # The volatile fields are there, marked as not recorded, beside the configuration the checks read.
    (status,) = evidence(sqlite_store, second, "cloudtrail.trail_status")
    assert status.payload["LatestDeliveryTime"] == NOT_RECORDED and status.payload["IsLogging"] is True
    (database,) = evidence(sqlite_store, second, "rds.db_instance")
    assert database.payload["LatestRestorableTime"] == NOT_RECORDED and database.payload["BackupRetentionPeriod"] > 0
    (file_system,) = evidence(sqlite_store, second, "efs.file_system")
    assert file_system.payload["SizeInBytes"] == NOT_RECORDED and file_system.payload["Encrypted"] is True


def test_volatile_values_are_replaced_in_objects_and_lists_and_nothing_else_changes() -> None:
    table = {
        "TableName": "t",
        "TableSizeBytes": 1024,
        "ItemCount": 7,
        "SSEDescription": {"Status": "ENABLED"},
        "GlobalSecondaryIndexes": [{"IndexName": "a", "IndexSizeBytes": 9, "ItemCount": 2}, {"IndexName": "b"}],
    }
    steadied = steady("dynamodb.table", table)
    assert steadied == {
        "TableName": "t",
        "TableSizeBytes": NOT_RECORDED,
        "ItemCount": NOT_RECORDED,
        "SSEDescription": {"Status": "ENABLED"},
        "GlobalSecondaryIndexes": [
            {"IndexName": "a", "IndexSizeBytes": NOT_RECORDED, "ItemCount": NOT_RECORDED},
            {"IndexName": "b"},
        ],
    }
    assert table["TableSizeBytes"] == 1024  # the input is not modified
    assert steady("s3.bucket_encryption", {"ItemCount": 3}) == {"ItemCount": 3}  # other kinds keep everything
    assert steady("rds.db_instance", {"LatestRestorableTime": None}) == {"LatestRestorableTime": None}


def test_every_volatile_kind_is_one_a_collector_produces() -> None:
    produced = {kind for entry in collectors().values() for kind in entry.produces}
    assert set(VOLATILE) <= produced
