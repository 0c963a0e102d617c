"""The API's framework status is computed once per question and shared (under load, fifty clients each
evaluating 100,000 findings starved every other route), and never served past a new run or re-evaluation."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.models import Role
from auditpack import api_sources
from auditpack.api_wiring import build_app
from auditpack.settings import load_settings
from auditpack.status_cache import StatusCache
from evidence.checks.thresholds import Thresholds
from evidence.findings import save_findings
from evidence.store import EvidenceStore
from frameworks.results import FrameworkStatus
from tests.api.conftest import auth, issue
from tests.scenario import Collected


def _status(label: str) -> FrameworkStatus:
    return label  # type: ignore[return-value] - the cache only stores what it is given


def test_concurrent_requests_for_one_key_share_one_computation() -> None:
    cache = StatusCache(ttl=60)
    calls = 0
    started = threading.Event()

    def compute() -> FrameworkStatus:
        nonlocal calls
        calls += 1
        started.set()
        time.sleep(0.2)  # long enough that every other thread arrives while it runs
        return _status("computed")

    with ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(lambda _: cache.get("k", compute), range(12)))
    assert calls == 1 and results == ["computed"] * 12


def test_entries_expire_and_other_keys_compute_again() -> None:
    now = [0.0]
    cache = StatusCache(ttl=10, max_entries=2, clock=lambda: now[0])
    values = iter(["a1", "a2", "b", "c", "a3"])
    assert cache.get("a", lambda: _status(next(values))) == "a1"
    now[0] = 9.9
    assert cache.get("a", lambda: _status(next(values))) == "a1"
    now[0] = 10.0
    assert cache.get("a", lambda: _status(next(values))) == "a2"
    assert cache.get("b", lambda: _status(next(values))) == "b"
    assert cache.get("c", lambda: _status(next(values))) == "c"  # evicts the least recently used: "a"
    assert cache.get("a", lambda: _status(next(values))) == "a3"


def test_a_failed_computation_is_not_cached() -> None:
    cache = StatusCache(ttl=60)

    def broken() -> FrameworkStatus:
        raise RuntimeError("database went away")

    with pytest.raises(RuntimeError):
        cache.get("k", broken)
    assert cache.get("k", lambda: _status("fine")) == "fine"


def test_ttl_zero_computes_every_time() -> None:
    cache = StatusCache(ttl=0)
    values = iter(["1", "2"])
    assert [cache.get("k", lambda: _status(next(values))) for _ in range(2)] == ["1", "2"]


def test_the_api_shares_status_and_recomputes_after_re_evaluation(
    collected: Collected, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = collected.copy_to(tmp_path / "estate.db")
    monkeypatch.setenv("AUDITPACK_DATABASE_URL", f"sqlite:///{database}")
    monkeypatch.setenv("AUDITPACK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("AUDITPACK_SCHEDULE", "")
    computed = 0
    real = api_sources.framework_status

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        nonlocal computed
        computed += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(api_sources, "framework_status", counting)
    app = build_app(load_settings())
    with TestClient(app) as client:
        headers = auth(issue(app.state.context.engine, Role.OFFICER)[1])
        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(pool.map(lambda _: client.get("/v1/frameworks/hipaa/status", headers=headers), range(8)))
        assert {a.status_code for a in answers} == {200} and computed == 1
        first = answers[0].json()

        store = EvidenceStore(app.state.context.engine)
        run_id = collected.run.id
        save_findings(store, run_id, [], thresholds=Thresholds())  # re-evaluated: now nothing judged
        again = client.get("/v1/frameworks/hipaa/status", headers=headers)
        assert again.status_code == 200 and computed == 2
        assert again.json()["by_status"] != first["by_status"]
    app.state.context.engine.dispose()
