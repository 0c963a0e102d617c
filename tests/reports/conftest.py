"""One packet and bundle built once per session (rendering takes a couple of seconds), and the scenario estate's
findings exported as OCSF and ASFF once, all shared read-only."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from evidence.checks.types import Finding
from evidence.db import make_engine
from evidence.findings import load_findings
from evidence.store import EvidenceStore
from migrations.schema import upgrade_schema
from reports.packet import PacketResult, build_packet
from reports.signing import PacketSigner, load_signer
from tests.reports.builders import Scenario, scenario
from tests.reports.pki import Issued, dummy_timestamper, make_ca
from tests.scenario import Collected

GENERATED_AT = datetime(2026, 11, 20, 3, 30, tzinfo=UTC)


@dataclass
class Built:
    directory: Path
    data_dir: Path
    scenario: Scenario
    signer: PacketSigner
    result: PacketResult
    local_ca: Path
    tsa_ca: Path
    tsa_root: Issued

    @property
    def roots(self) -> list[Path]:
        return [self.local_ca, self.tsa_ca]


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    directory = tmp_path_factory.mktemp("packet")
    engine = make_engine(f"sqlite:///{directory / 'store.db'}")
    upgrade_schema(engine)
    store = EvidenceStore(engine)
    data = scenario(store)
    signer = load_signer(data_dir=directory / "data")
    tsa_root = make_ca("Example Corp Test TSA Root")
    tsa_ca = directory / "tsa-ca.pem"
    tsa_ca.write_bytes(tsa_root.cert_pem())
    result = build_packet(
        store=store,
        status=data.status,
        findings=data.findings,
        gaps=data.gaps,
        signer=signer,
        out_pdf=directory / "packet.pdf",
        out_bundle=directory / "bundle.zip",
        packet_id="PKT-2026-11-20-0001",
        org_name="Example Health Ltd",
        generated_by="alice@example.com",
        accounts=["111111111111", "222222222222"],
        timestamper=dummy_timestamper(tsa_root),
        now=GENERATED_AT,
    )
    assert signer.trust_root is not None
    yield Built(directory, directory / "data", data, signer, result, signer.trust_root, tsa_ca, tsa_root)
    engine.dispose()


@dataclass
class Interchange:
    """The scenario estate's run exported once with `auditpack findings --format ocsf|asff --out FILE`."""

    directory: Path
    database: Path
    run_id: int
    findings: list[Finding]  # what the store holds for the run, in storage order
    ocsf: list[dict[str, Any]]
    asff: list[dict[str, Any]]
    ocsf_bytes: bytes

    def env(self, **extra: str) -> dict[str, str]:
        return {
            "AUDITPACK_DATABASE_URL": f"sqlite:///{self.database}",
            "AUDITPACK_DATA_DIR": str(self.directory / "data"),
            **extra,
        }


def cli(env: dict[str, str], *args: str) -> int:
    """Run `auditpack ARGS` in-process with `env` set; returns the exit code."""
    from auditpack.cli.app import main

    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        try:
            main(list(args))
        except SystemExit as exc:
            return exc.code if isinstance(exc.code, int) else 1
    return 0


def ndjson(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


@pytest.fixture(scope="session")
def interchange(collected: Collected, tmp_path_factory: pytest.TempPathFactory) -> Interchange:
    directory = tmp_path_factory.mktemp("interchange")
    database = collected.copy_to(directory / "estate.db")
    exported = Interchange(directory, database, collected.run.id, [], [], [], b"")
    for fmt in ("ocsf", "asff"):
        code = cli(exported.env(), "findings", "--format", fmt, "--region", "us-east-1", "--out", f"{directory}/{fmt}")
        assert code == 0
    exported.findings = load_findings(collected.store, collected.run.id)
    exported.ocsf, exported.asff = ndjson(directory / "ocsf"), ndjson(directory / "asff")
    exported.ocsf_bytes = (directory / "ocsf").read_bytes()
    return exported
