#!/usr/bin/env bash
# The `e2e` service of compose.e2e.yml: pytest with the API key that bootstrap left in the keys volume. Arguments
# go to pytest (default: -v tests/e2e), e.g. `docker compose -f compose.e2e.yml run --rm e2e -k health tests/e2e`.
set -euo pipefail

key_file=${E2E_KEY_FILE:-/keys/api-key}

# The suite takes its key from the environment only; reading it here keeps it out of compose files and `docker
# inspect`.
if [[ -z ${DOKPLOY_E2E_API_KEY:-} ]]; then
    if [[ ! -r $key_file ]]; then
        echo "run-e2e: no API key: $key_file is missing or unreadable (the bootstrap service writes it)" >&2
        exit 2
    fi
    DOKPLOY_E2E_API_KEY=$(<"$key_file")
    export DOKPLOY_E2E_API_KEY
fi
if [[ -z ${DOKPLOY_E2E_URL:-} ]]; then
    echo "run-e2e: DOKPLOY_E2E_URL is not set (compose.e2e.yml sets http://localhost:3000)" >&2
    exit 2
fi
exec python -m pytest "$@"
