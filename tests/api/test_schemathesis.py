"""The API honours its own OpenAPI schema: generated requests from an officer never get a 5xx, an undocumented
status, a wrong content type or a body that violates the documented response model. The app is the full one
`auditpack serve` builds (real findings and frameworks sources, real executors), without its job worker so that
nothing generated is ever collected or built.

(schemathesis' lazy pytest loader does not run under pytest 9, so this test loads the schema from the app and
drives each operation's strategy with Hypothesis directly.)
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import checks

from api.executors import CollectRequest
from api.models import Role
from auditpack.api_wiring import build_app
from auditpack.settings import load_settings
from evidence.checks.thresholds import Thresholds
from evidence.findings import save_findings
from tests.api.conftest import auth, issue
from tests.api.sources import findings

CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]
MAX_EXAMPLES = 15  # per operation and backend: enough to vary every parameter, fast enough for CI


def test_the_api_conforms_to_its_schema(collector, store, engine, cli_env, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    run_id = collector(CollectRequest(), "seed", trigger="cli")  # a run with evidence, so list routes return items
    rows = [row.finding for row in findings(12, run_id=run_id)]  # rows to page through
    save_findings(store, run_id, rows, thresholds=Thresholds())
    monkeypatch.setenv("AUDITPACK_SCHEDULE", "")
    app = build_app(load_settings(), run_background=False)
    headers = auth(issue(engine, Role.OFFICER)[1])
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 30  # every route of the fully wired app, findings and frameworks included
    failures = []
    for operation in operations:

        @settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(case=operation.as_strategy())
        def conforms(case) -> None:  # type: ignore[no-untyped-def]
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            conforms()
        except Exception as exc:  # collect every operation's failure, then report them together
            failures.append(f"{operation.label}: {exc}")
    app.state.context.engine.dispose()
    assert failures == [], "\n\n".join(failures)
