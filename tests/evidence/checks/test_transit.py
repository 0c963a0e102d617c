"""Edge checks on the scenario estate: listener TLS, WAF on internet-facing ALBs, ACM certificate expiry."""

from datetime import timedelta

from evidence.checks.evaluate import evaluate_run
from evidence.checks.thresholds import Thresholds
from evidence.checks.types import FindingStatus
from tests.scenario import Collected

PASS, FAIL, NA = FindingStatus.PASS, FindingStatus.FAIL, FindingStatus.NOT_APPLICABLE


def test_listener_tls(collected: Collected) -> None:
    ids = collected.estate.ids
    strong = collected.finding("elbv2.listener_tls", ids["shop-lb-https"])
    assert strong.status == PASS and "TLSv1.2, TLSv1.3 only" in strong.reason
    assert len(strong.evidence) == 2  # the listeners and AWS's definition of the policy
    assert collected.finding("elbv2.listener_tls", ids["shop-lb-http"]).status == PASS  # redirect only
    weak = collected.finding("elbv2.listener_tls", ids["legacy-lb-https"])
    assert weak.status == FAIL and "allows TLSv1, TLSv1.1" in weak.reason
    plain = collected.finding("elbv2.listener_tls", ids["legacy-lb-http"])
    assert plain.status == FAIL and "plain-text" in plain.reason


def test_a_region_without_load_balancers_is_not_applicable_on_its_listing(collected: Collected) -> None:
    member = collected.estate.member_a
    empty = collected.finding("elbv2.listener_tls", f"{member}/us-east-1/elbv2.load_balancer")
    assert empty.status == NA and empty.evidence  # rests on the complete, empty listing


def test_waf_on_internet_facing_albs(collected: Collected) -> None:
    ids = collected.estate.ids
    protected = collected.finding("elbv2.waf_attached", ids["shop-lb"])
    assert protected.status == PASS and "shop-lb-waf" in protected.reason
    assert collected.finding("elbv2.waf_attached", ids["legacy-lb"]).status == FAIL
    assert collected.finding("elbv2.waf_attached", ids["internal-lb"]).status == NA


def test_certificates_in_use_expiring(collected: Collected) -> None:
    ids = collected.estate.ids
    valid = collected.finding("acm.certificate_not_expiring", ids["shop-lb-cert"])
    assert valid.status == PASS and "shop.example.com" in valid.reason
    expiring = collected.finding("acm.certificate_not_expiring", ids["legacy-lb-cert"])
    assert expiring.status == FAIL and "minimum 30" in expiring.reason


def test_certificate_threshold_and_time_are_honoured(collected: Collected) -> None:
    ids = collected.estate.ids

    def status(**kwargs: object) -> FindingStatus:
        findings = evaluate_run(collected.store, collected.run.id, **kwargs)  # type: ignore[arg-type]
        return next(f.status for f in findings if f.resource_id == ids["shop-lb-cert"])

    assert status(thresholds=Thresholds(certificate_min_days_valid=400)) == FAIL
    assert status(now=collected.run.finished_at + timedelta(days=400)) == FAIL  # judged later, it has expired
    assert status(thresholds=Thresholds(certificate_min_days_valid=0)) == PASS


def test_rds_tls_required(collected: Collected) -> None:
    tls = collected.finding("rds.tls_required", ":db:orders-db")
    assert tls.status == PASS and "rds.force_ssl=1 in postgres-tls" in tls.reason
    assert len(tls.evidence) == 2  # the instance and its parameter group
    mysql = collected.finding("rds.tls_required", ":db:legacy-db")
    assert mysql.status == FAIL and "require_secure_transport" in mysql.reason
    assert collected.finding("rds.tls_required", ":db:member-a-db").status == FAIL
