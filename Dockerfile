# syntax=docker/dockerfile:1
# One image for both servers of afissue:
#   docker run IMAGE ingest      -> `afissue ingest`   (gunicorn, port 6001)
#   docker run IMAGE consumer    -> `afissue consumer` (one member of the consumer group)
#   docker run IMAGE notifier    -> `afissue notifier` (one alert notifier replica)
# Configuration is environment only (docs/configuration.md); see docker-compose.yml.

ARG PYTHON_IMAGE=python:3.11-slim

# --- build: a wheel of afissue and every dependency of its `server` extra, in a venv ---
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/afissue
WORKDIR /src
COPY pyproject.toml README.md ./
COPY afissue_logging ./afissue_logging
COPY alerting ./alerting
COPY issue_store ./issue_store
COPY ingest_service ./ingest_service
COPY consumer ./consumer
COPY notifier ./notifier
COPY afissue ./afissue
# A regular (non-editable) install: the runtime stage gets no source tree, only the venv.
RUN /opt/afissue/bin/pip install ".[server]" \
    && /opt/afissue/bin/afissue --help >/dev/null

# --- runtime: the venv, a non-root user, nothing else ---
FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="afissue" \
      org.opencontainers.image.description="afissue ingest API, consumer and alert notifier" \
      org.opencontainers.image.licenses="MIT"
RUN groupadd --system --gid 10001 afissue \
    && useradd --system --uid 10001 --gid afissue --home-dir /home/afissue --create-home \
       --shell /usr/sbin/nologin afissue
COPY --from=build /opt/afissue /opt/afissue
ENV PATH="/opt/afissue/bin:${PATH}" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    AFISSUE_INGEST_HOST=0.0.0.0 \
    AFISSUE_INGEST_PORT=6001
USER 10001:10001
WORKDIR /home/afissue
EXPOSE 6001
# Liveness of the ingest API; the consumer's compose service replaces this check with its own.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/api/health/live' % os.environ.get('AFISSUE_INGEST_PORT', '6001'), timeout=2)"]
ENTRYPOINT ["afissue"]
CMD ["ingest"]
