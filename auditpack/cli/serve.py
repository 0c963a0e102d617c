"""`auditpack serve`: the HTTP API with its job worker and nightly schedule, under uvicorn."""

from __future__ import annotations

import typer


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (0.0.0.0 for all interfaces)."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="TCP port."),
) -> None:
    """Serve the API (runs, evidence, findings, frameworks, packets, grants, access log) and the nightly capture."""
    import uvicorn  # the web stack loads only for this command, not for every CLI start-up

    from auditpack.api_wiring import build_app
    from auditpack.settings import load_settings

    settings = load_settings()
    app = build_app(settings)
    uvicorn.run(
        app,
        host=host,
        port=port,
        proxy_headers=True,
        forwarded_allow_ips=settings.api_forwarded_allow_ips,
        server_header=False,
        log_level="info",
    )
