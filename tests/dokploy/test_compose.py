"""The input of Dokploy's template procedures (compose.import, compose.processTemplate)."""

from __future__ import annotations

import base64
import json

from dokploy_mcp.dokploy.compose import encode_template


def test_template_payload_is_base64_of_utf8_json() -> None:
    encoded = encode_template("services:\n  db: {}\n", 'title = "Señor ☃"\n')

    raw = base64.b64decode(encoded)
    assert json.loads(raw.decode("utf-8")) == {"compose": "services:\n  db: {}\n", "config": 'title = "Señor ☃"\n'}
    assert "☃".encode() in raw
