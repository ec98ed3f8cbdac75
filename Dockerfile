# Chronicle API / projector image.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    DATA_DIR=/data \
    MAIL_DIR=/data/mail

WORKDIR /app

# Unprivileged runtime user; /data is pre-created and owned by it so that
# named volumes mounted there (e.g. /data/mail) inherit the ownership.
RUN groupadd --system chronicle \
 && useradd --system --gid chronicle --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin chronicle \
 && mkdir -p /data/mail \
 && chown -R chronicle:chronicle /data

# Packaging metadata first (README* is optional: pyproject may reference it).
COPY pyproject.toml README* ./
COPY domain ./domain
COPY application ./application
COPY projections ./projections
COPY infrastructure ./infrastructure
COPY interfaces ./interfaces

RUN pip install --no-cache-dir . \
 && rm -rf build *.egg-info

USER chronicle

EXPOSE 8000

# `chronicle serve` runs API_WORKERS uvicorn worker processes (default: one per core the container may
# use, at most 4, with PostgreSQL and Redis; compose pins 2).

CMD ["chronicle", "serve", "--host", "0.0.0.0", "--port", "8000"]
