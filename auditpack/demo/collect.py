"""The demo's first half: where its files live, its settings, and one collection of the simulated estate with the
real collectors (`evidence.orchestrator.collect`, the same code that reads AWS)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml
from sqlalchemy.exc import SQLAlchemyError

from auditpack.collection import thresholds_from_settings
from auditpack.demo.build import BuiltEstate, build_estate
from auditpack.demo.simulated import correct_aws_managed_keys, set_facts_without_api, simulated_aws
from auditpack.demo.spec import EstateSpec
from auditpack.settings import Settings, load_settings
from core.errors import InputError
from evidence.aws.scope import CollectionScope
from evidence.db import make_engine
from evidence.models import Run, Trigger
from evidence.orchestrator import collect
from evidence.owners import load_owner_map
from evidence.store import EvidenceStore
from evidence.work import CollectionProgress

FRAMEWORKS = ("hipaa", "pci-dss", "soc2")
REQUESTED_BY = "auditpack demo"
# The demo signs with its own local CA and never with a configured key: its packets describe a fictitious
# estate, and a production signature on them would lend fake evidence real trust. No time-stamping authority
# either: the demo makes no network call.
NO_SIGNING = dict.fromkeys(
    (
        "signing_key",
        "signing_cert",
        "signing_chain",
        "signing_key_password",
        "signing_kms_key_id",
        "signing_kms_cert",
        "tsa_url",
    )
)


@dataclass(frozen=True, slots=True)
class DemoPaths:
    """Everything the demo writes lives in one directory."""

    out_dir: Path

    @classmethod
    def of(cls, out_dir: Path) -> DemoPaths:
        return cls(out_dir.expanduser().resolve())

    @property
    def database(self) -> Path:
        return self.out_dir / "auditpack.db"

    @property
    def database_url(self) -> str:
        return f"sqlite:///{self.database}"

    @property
    def data_dir(self) -> Path:
        return self.out_dir / "data"

    @property
    def owners_file(self) -> Path:
        return self.out_dir / "owners.yaml"

    @property
    def ca_certificate(self) -> Path:
        return self.data_dir / "signing" / "local-ca.pem"

    def pdf(self, framework: str) -> Path:
        return self.out_dir / f"{framework}.pdf"

    def bundle(self, framework: str) -> Path:
        return self.out_dir / f"{framework}-bundle.zip"

    def environment(self) -> dict[str, str]:
        """The variables that point other auditpack commands at the demo's database and files."""
        return {"AUDITPACK_DATABASE_URL": self.database_url, "AUDITPACK_DATA_DIR": str(self.data_dir)}


def demo_settings(paths: DemoPaths, spec: EstateSpec) -> dict[str, object]:
    """The settings overrides of the demo (other AUDITPACK_* variables, e.g. thresholds, still apply). Plain
    values, so that packet workers in other processes can rebuild the same settings."""
    paths.out_dir.mkdir(parents=True, exist_ok=True)
    owners = spec.owners.model_dump()
    paths.owners_file.write_text(
        "# Owners of resources without an owner tag in the demo estate (AUDITPACK_OWNERS_FILE format).\n"
        + yaml.safe_dump(owners, sort_keys=True),
        encoding="utf-8",
    )
    return {
        "database_url": paths.database_url,
        "data_dir": paths.data_dir,
        "org_name": spec.organization,
        "owners_file": paths.owners_file,
        **NO_SIGNING,
    }


class NotADemoStore(InputError):
    """DIR already holds an evidence store with runs the demo did not make."""


def ensure_demo_store(paths: DemoPaths) -> None:
    """Refuse to add a fictitious company's evidence to a store that holds real evidence (e.g. `--out .` where
    ./auditpack.db is the store `auditpack collect` writes by default). Checked before anything is written."""
    if not paths.database.exists():
        return
    engine = make_engine(paths.database_url)
    try:
        runs = EvidenceStore(engine).list_runs(limit=1000)
    except SQLAlchemyError as exc:
        raise NotADemoStore(
            f"{paths.database} exists and is not an auditpack store the demo can use ({type(exc).__name__})",
            hint="choose another --out (default ./auditpack-demo)",
        ) from None
    finally:
        engine.dispose()
    foreign = [run for run in runs if run.requested_by != REQUESTED_BY]
    if foreign:
        raise NotADemoStore(
            f"{paths.database} holds {len(foreign)} run(s) the demo did not make (run {foreign[0].id}, requested "
            f"by {foreign[0].requested_by}); the demo never adds a fictitious estate's evidence to a real store",
            hint="choose another --out (default ./auditpack-demo)",
        )


def collect_estate(
    store: EvidenceStore,
    settings: Settings,
    spec: EstateSpec,
    *,
    on_account: Callable[[str, str], None] | None = None,
    progress: CollectionProgress | None = None,
    on_built: Callable[[BuiltEstate], None] | None = None,
) -> tuple[BuiltEstate, Run]:
    """Build the estate in a fresh moto world and collect all of it (`org=True`, every region of the estate)."""
    with simulated_aws(seed=spec.seed, region=spec.home_region) as base:
        built = build_estate(base, spec, on_account=on_account)
        set_facts_without_api(built)
        correct_aws_managed_keys(built)
        if on_built is not None:
            on_built(built)
        scope = CollectionScope(session=base, org=True, regions=spec.regions, home_region=spec.home_region)
        run = collect(
            store,
            scope,
            trigger=Trigger.CLI,
            requested_by=REQUESTED_BY,
            concurrency=settings.concurrency,
            progress=progress,
            thresholds=thresholds_from_settings(settings),
            owner_map=load_owner_map(settings.owners_file, tag_keys=settings.owner_tag_keys),
        )
    return built, run


def settings_for(overrides: dict[str, object]) -> Settings:
    return load_settings(**overrides)
