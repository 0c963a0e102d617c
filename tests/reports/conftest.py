"""One packet and bundle built once per session (rendering takes a couple of seconds), shared read-only."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from evidence.db import make_engine
from evidence.store import EvidenceStore
from migrations.schema import upgrade_schema
from reports.packet import PacketResult, build_packet
from reports.signing import PacketSigner, load_signer
from tests.reports.builders import Scenario, scenario
from tests.reports.pki import Issued, dummy_timestamper, make_ca

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
