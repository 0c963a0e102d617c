"""Service usage from the collectors' listings: counts per account, region and service type."""

from evidence.inventory import service_usage
from tests.evidence.helpers import record_run
from tests.scenario import Collected


def test_service_usage_of_the_scenario(collected: Collected) -> None:
    usage = service_usage(collected.store, collected.run.id)
    management, member_a = collected.estate.management, collected.estate.member_a
    counts = usage.counts
    assert counts[(management, "us-east-1", "ec2")] == 2  # the running and the stopped instance
    assert counts[(management, "us-east-1", "rds")] == 2  # the DB instances (the Aurora cluster has none)
    assert counts[(member_a, "eu-west-1", "rds")] == 1
    assert counts[(management, "us-east-1", "lambda")] == 2
    assert counts[(management, "us-east-1", "s3")] == 4  # access-logs, secure-bucket, phi-exports, trail-logs
    assert counts[(management, "eu-west-1", "s3")] == 1  # plain-bucket, counted in its own region
    assert counts[(management, "us-east-1", "dynamodb")] == 3  # sessions, orders and claims
    assert counts[(management, "eu-west-1", "ecs")] == 1
    assert counts[(management, "us-east-1", "eks")] == 2  # prod and dev
    assert counts[(management, "eu-west-1", "eks")] == 1  # platform
    assert counts[(member_a, "us-east-1", "eks")] == 0  # listed, none found
    assert usage.in_use() == {"ec2", "rds", "lambda", "s3", "dynamodb", "ecs", "eks"}
    assert usage.unknown == frozenset()
    # what hosts the container workloads: a Fargate service on ECS; a node group and a Fargate profile on EKS
    assert usage.hosting == {
        (management, "eu-west-1", "ecs"): {"fargate"},
        (management, "eu-west-1", "eks"): {"ec2", "fargate"},
    }
    assert usage.responsibility_keys() == {
        "ec2", "rds", "lambda", "s3", "dynamodb", "ecs-fargate", "eks-ec2", "eks-fargate"
    }  # fmt: skip


def test_a_failed_listing_is_unknown_not_zero(store) -> None:  # type: ignore[no-untyped-def]
    run = record_run(store, [], gaps=[{"operation": "ListFunctions", "error_code": "AccessDeniedException"}])
    # the helper records gaps of kind s3.bucket_encryption; add one for the Lambda listing
    other = store.start_run(trigger="cli", requested_by="t", scope={})
    with store.recorder(other.id) as recorder:
        recorder.add_gap(
            account_id="111111111111",
            region="eu-west-1",
            service="lambda",
            operation="ListFunctions",
            error_code="AccessDeniedException",
            message="denied",
            kind="lambda.function",
        )
    store.finish_run(other.id)
    usage = service_usage(store, other.id)
    assert usage.unknown == {("111111111111", "eu-west-1", "lambda")}
    assert usage.counts == {}
    assert service_usage(store, run.id).unknown == frozenset()
