"""`auditpack serve`: the HTTP API with its job worker and nightly schedule, under uvicorn."""

from __future__ import annotations

import ipaddress

import typer


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (0.0.0.0 for all interfaces)."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="TCP port."),
    plain_http: bool = typer.Option(
        False,
        "--plain-http",
        help="Serve the web interface's session cookie without Secure, for a browser on this machine over plain "
        "HTTP (only with a loopback --host; behind TLS leave it off).",
    ),
) -> None:
    """Serve the API (runs, evidence, findings, frameworks, packets, grants, access log), the web interface at
    /ui and the nightly capture."""
    import uvicorn  # the web stack loads only for this command, not for every CLI start-up

    from auditpack.api_wiring import build_app
    from auditpack.settings import load_settings

    if plain_http and host != "localhost" and not _loopback(host):
        raise typer.BadParameter(
            f"--plain-http needs a loopback --host (127.0.0.1, ::1), not {host}", param_hint="--plain-http"
        )
    settings = load_settings(**({"ui_plain_http": True} if plain_http else {}))
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


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
