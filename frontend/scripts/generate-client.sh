#!/usr/bin/env bash
# Regenerates src/client from the backend's OpenAPI document, without a running server.
set -euo pipefail
cd "$(dirname "$0")/.."
(cd .. && uv run python -c "import json; from app.main import app; print(json.dumps(app.openapi(), indent=2, sort_keys=True))") > openapi.json
npx openapi-ts
