# auditpack service image: `auditpack serve` behind a HEALTHCHECK, configured only through AUDITPACK_* variables.
# Build: docker build -t auditpack .   Run: see docker-compose.yml (PostgreSQL, migrations, several replicas).

FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY auditpack ./auditpack
COPY core ./core
COPY evidence ./evidence
COPY frameworks ./frameworks
COPY reports ./reports
COPY api ./api
COPY migrations ./migrations
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install --upgrade pip \
 && /opt/venv/bin/pip install '.[postgres]'

FROM python:3.11-slim-bookworm AS runtime
# WeasyPrint's libraries and an embeddable font for PDF/A packets.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b \
      libharfbuzz-subset0 fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --create-home --home-dir /var/lib/auditpack auditpack
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    AUDITPACK_DATA_DIR=/var/lib/auditpack/data
USER auditpack
WORKDIR /var/lib/auditpack
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
ENTRYPOINT ["auditpack", "serve"]
CMD ["--host", "0.0.0.0", "--port", "8000"]
