#!/usr/bin/env bash
# Fails when the committed client (or openapi.json) no longer matches the backend.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/generate-client.sh
if ! git diff --exit-code --stat -- openapi.json src/client || [ -n "$(git status --porcelain -- openapi.json src/client)" ]; then
  echo "The generated API client drifted from the backend: run 'npm run generate-client' and commit." >&2
  exit 1
fi
echo "API client matches the backend."
