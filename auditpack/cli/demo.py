"""`auditpack demo`: the main job on embedded defaults."""

from __future__ import annotations

from pathlib import Path

import typer

from auditpack.cli.output import out
from auditpack.settings import load_settings
from auditpack.wiring import open_store
from evidence.verification import verify_store


def demo(
    out_dir: Path = typer.Option(Path("auditpack-demo"), "--out", help="Directory for the demo's database and files."),
) -> None:
    """Build a demo store in DIR and verify it (collectors, frameworks and packets join as they land)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    database = (out_dir / "auditpack.db").resolve()
    settings = load_settings(database_url=f"sqlite:///{database}", data_dir=out_dir / "data")
    store = open_store(settings)
    result = verify_store(store.engine)
    out.print(f"evidence store ready at {database} (schema current, chain intact: {result.intact})")
    out.print(
        "this build has the evidence store only: collection, evaluation and signed packets are not part of it "
        "yet, so no AWS estate was built and no packet was written"
    )
    out.print(f"next: AUDITPACK_DATABASE_URL=sqlite:///{database} auditpack verify --store")
