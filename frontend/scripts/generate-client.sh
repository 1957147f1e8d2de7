#!/usr/bin/env bash
# Regenerates src/client from the backend's OpenAPI document, without a running server.
set -euo pipefail
frontend="$(cd "$(dirname "$0")/.." && pwd)"
repo="$(dirname "$frontend")"
cd "$frontend"
# The document is exported from the app object with default settings: run from a scratch
# directory (no .env) and without the variables that would change the title or the prefix.
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
(cd "$scratch" && env -u PROJECT_NAME -u API_V1_STR PYTHONPATH="$repo/backend" uv run --project "$repo" python -c \
  "import json; from app.main import app; print(json.dumps(app.openapi(), indent=2, sort_keys=True))") > openapi.json
npx openapi-ts
