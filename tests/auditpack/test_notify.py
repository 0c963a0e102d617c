"""What a capture notification says (from the store: the diff against the previous run with who changed what,
evidence and exceptions expiring or expired, gaps), `auditpack notify test` and `log`, and the webhook settings."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest

from api.webhooks.signing import verify
from auditpack.notify import capture_notification
from auditpack.settings import SettingsError, load_settings
from auditpack.wiring import customer_policy
from evidence.customer import service
from evidence.customer.policy import Actor, Role
from evidence.store import EvidenceStore
from tests.api.receiver import receiver
from tests.auditpack.test_cli_collect import estate  # noqa: F401 - the one-account moto estate fixture
from tests.evidence.diff_store import ACTOR, NEW, SG, T0, record_expiring_exception, record_two_runs

SECRET = "a-webhook-secret-of-32-characters"


def test_a_capture_notification_says_what_changed_who_changed_it_and_what_expires(
    store: EvidenceStore, cli_env: dict[str, str]
) -> None:
    lapsed = record_expiring_exception(store)  # expired between the two runs
    runs = record_two_runs(store)
    assert runs.after.finished_at is not None
    settings = load_settings(org_name="Acme Health")
    later = service.request_exception(
        store.engine,
        policy=customer_policy(settings),
        actor=Actor("alice@example.com", Role.OFFICER),
        check_id="ec2.sg_no_admin_ports_open",
        justification="Temporary SSH for the migration window agreed with the CISO.",
        compensating="Source addresses restricted by NACL and sessions recorded.",
        expires_at=runs.after.finished_at + timedelta(days=10),
        now=T0,
    )
    service.approve_exception(
        store.engine, exception_id=later.id, actor=Actor("bob@example.com", Role.OFFICER), now=T0 + timedelta(hours=1)
    )
    payload = capture_notification(settings, store, runs.after.id, now=runs.after.finished_at + timedelta(minutes=5))

    assert payload["run"]["id"] == runs.after.id and payload["previous_run"]["id"] == runs.before.id
    assert payload["counts"] == {"newly_failing": 2, "resolved": 1, "still_failing": 1, "unverified": 1}
    new = {f["resource_id"]: f for f in payload["new_failures"]}
    assert new[SG]["changed_by"] == [ACTOR] and new[SG]["lookup"] == "found"
    assert new[NEW]["changed_by"] == [] and new[NEW]["lookup"] == "not_looked_up"
    assert [e["id"] for e in payload["expired_since_previous_run"]["exceptions"]] == [lapsed]
    assert [e["id"] for e in payload["expiring"]["exceptions"]] == [later.id] and payload["expiring"][
        "within_days"
    ] == 14
    assert payload["gaps"]["count"] == 1 and payload["gaps"]["first"][0]["operation"] == "ec2:DescribeVolumes"
    text = payload["text"].splitlines()
    assert text[0] == (
        f"auditpack capture for Acme Health: run {runs.after.id} PARTIAL (6 evidence items, 1 gap(s) (evidence that "
        f"could not be read)): 2 new failure(s), 1 resolved, 1 still failing since run {runs.before.id}"
    )
    assert f"- NEW ec2.sg_no_open_ssh on {SG} (changed by {ACTOR})" in text
    assert any(line.startswith(f"- EXPIRED exception {lapsed} ") for line in text)
    assert any(line.startswith("- expires ") and f"exception {later.id}" in line for line in text)
    assert "secret" not in json.dumps(payload).lower()


def test_notify_test_and_log(
    run_cli, cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, sqlite_only: None
) -> None:  # type: ignore[no-untyped-def]
    missing = run_cli("notify", "test")
    assert missing.code == 2 and "no webhook is configured" in missing.stderr
    with receiver() as hook:
        monkeypatch.setenv("AUDITPACK_WEBHOOKS", hook.url)
        monkeypatch.setenv("AUDITPACK_WEBHOOK_SECRET", SECRET)
        sent = run_cli("notify", "test")
        assert sent.code == 0 and "delivered" in sent.stdout, sent
        [request] = hook.wait_for(1)
        payload = verify(request.body, request.headers, SECRET.encode())
        assert payload["type"] == "auditpack.test" and payload["sample"] is True and payload["text"]
        monkeypatch.setenv("AUDITPACK_WEBHOOK_ATTEMPTS", "1")
        hook.statuses = [500]
        refused = run_cli("notify", "test")
        assert refused.code == 1 and "1 of 1 webhook(s) did not accept" in refused.stderr
    log = run_cli("notify", "log", "--format", "json")
    rows = json.loads(log.stdout)
    assert [(r["event"], r["status"], r["http_status"]) for r in rows] == [
        ("test", "failed", 500),
        ("test", "delivered", 200),
    ]
    assert all("secret-token" not in json.dumps(r) for r in rows)


def test_webhook_settings_are_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sqlite_only: None) -> None:
    monkeypatch.setenv("AUDITPACK_WEBHOOKS", "http://hooks.example.com/x")
    monkeypatch.setenv("AUDITPACK_WEBHOOK_SECRET", SECRET)
    with pytest.raises(SettingsError, match=r"AUDITPACK_WEBHOOKS: .*http://hooks\.example\.com/…: use https"):
        load_settings()
    monkeypatch.setenv("AUDITPACK_WEBHOOKS", "https://a.example.com/T/secret-path,https://b.example.com/hook")
    monkeypatch.delenv("AUDITPACK_WEBHOOK_SECRET")
    with pytest.raises(
        SettingsError, match=re.escape("no secret to sign notifications to https://a.example.com/…")
    ) as caught:
        load_settings()
    assert "secret-path" not in str(caught.value)
    secrets = tmp_path / "secrets.yaml"
    secrets.write_text("https://a.example.com/T/secret-path: first-receiver-secret-1\n")
    monkeypatch.setenv("AUDITPACK_WEBHOOK_SECRETS_FILE", str(secrets))
    with pytest.raises(SettingsError, match=re.escape("https://b.example.com/…")):
        load_settings()  # the second has no secret of its own and there is no shared one
    monkeypatch.setenv("AUDITPACK_WEBHOOK_SECRET", SECRET)
    settings = load_settings()
    assert settings.webhook_targets() == [
        ("https://a.example.com/T/secret-path", b"first-receiver-secret-1"),
        ("https://b.example.com/hook", SECRET.encode()),
    ]
    assert "first-receiver-secret" not in repr(settings) and SECRET not in repr(settings)
    monkeypatch.setenv("AUDITPACK_WEBHOOKS", "http://127.0.0.1:9/x,http://localhost/y,http://[::1]:8/z")
    assert len(load_settings().webhooks) == 3  # plain http to this machine is fine


@pytest.mark.usefixtures("estate", "cli_env", "sqlite_only")
def test_collect_notifies_the_webhooks_once_its_run_is_sealed(run_cli, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    with receiver() as hook:
        monkeypatch.setenv("AUDITPACK_WEBHOOKS", hook.url)
        monkeypatch.setenv("AUDITPACK_WEBHOOK_SECRET", SECRET)
        collected = run_cli("collect", "--region", "us-east-1", "--format", "json")
        assert collected.code == 0, collected
        [request] = hook.wait_for(1)
    summary = json.loads(collected.stdout)  # stdout stays the summary; the notification is said on stderr
    payload = verify(request.body, request.headers, SECRET.encode())
    assert payload["run"]["id"] == summary["run_id"] and payload["run"]["status"] == summary["status"]
    assert payload["run"]["digest"] is not None  # sent after sealing
    assert "notified 1 of 1 webhook(s)" in collected.stderr
