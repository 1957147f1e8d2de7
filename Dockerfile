# The platform's Python image: API, workers (default,low), Beat, Flower and the one-shot
# migration all run from it; docker-compose.yml picks the role with `seo-platform <command>`.
FROM python:3.11-slim-bookworm

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PROJECT_ENVIRONMENT=/app/.venv \
    PATH=/app/.venv/bin:$PATH \
    ENVIRONMENT=production \
    LOG_JSON=true

RUN pip install --no-cache-dir uv

WORKDIR /app

# Dependencies first: this layer is reused until uv.lock changes.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-default-groups --no-install-project

COPY alembic.ini ./
COPY backend ./backend
RUN uv sync --frozen --no-default-groups

# Celery refuses nothing as root but warns; the services run as an unprivileged user.
RUN useradd --create-home --uid 10001 app && mkdir -p /app/data/link-uploads \
    && chown -R app /app/data
USER app

EXPOSE 8000
CMD ["seo-platform", "api", "--host", "0.0.0.0", "--port", "8000"]
