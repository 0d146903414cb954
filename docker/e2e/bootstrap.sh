#!/usr/bin/env bash
# The `bootstrap` service of compose.e2e.yml: `dokploy-mcp bootstrap` against the Dokploy that dokploy-dev
# installed, writing the API key into the shared keys volume. Safe to run again: a working key file is a no-op.
set -euo pipefail

keys_dir=${E2E_KEYS_DIR:-/keys}
key_file="$keys_dir/api-key"
password_file="$keys_dir/admin-password"

if [[ -n ${DOKPLOY_ADMIN_PASSWORD:-} ]]; then
    exec dokploy-mcp bootstrap --key-file "$key_file" "$@"
fi

# A fixed default password would be an open door: Dokploy listens on the host's port 3000 and its admin controls
# the host's Docker engine. Without DOKPLOY_ADMIN_PASSWORD a random one is made once and kept next to the key.
if [[ ! -s $password_file ]]; then
    umask 077
    python3 -c 'import secrets; print(secrets.token_urlsafe(24))' >"$password_file.tmp"
    mv "$password_file.tmp" "$password_file"
    echo "e2e-bootstrap: DOKPLOY_ADMIN_PASSWORD is not set; generated the admin password into the keys volume." >&2
    echo "e2e-bootstrap: read it with: docker compose -f compose.e2e.yml run --rm --no-deps --entrypoint cat bootstrap $password_file" >&2
fi
exec dokploy-mcp bootstrap --key-file "$key_file" --password-file "$password_file" "$@"
