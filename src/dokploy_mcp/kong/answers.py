"""Reading an answer that came through Kong: what the answering service said, and whether Kong itself refused the key.

What the template's ``kong.yml`` does to a request (``key-auth``, ``acl``) decides how a refusal looks; the gateway
and its probes both read answers with these helpers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx

__all__ = ["KONG_BODY_KEYS", "json_or_none", "refusal_hint", "refused_by_kong", "service_message", "status_label"]

# Kong's own refusals: key-auth (kong/plugins/key-auth/handler.lua: "No API key found in request", "Duplicate API key
# found", and "Unauthorized" for an unknown key since 3.x; older releases said "Invalid authentication credentials")
# and acl (kong/plugins/acl/handler.lua). Kong 3.5+ adds a request_id next to the message.
_KONG_REFUSALS = frozenset(
    {
        "No API key found in request",
        "Duplicate API key found",
        "Unauthorized",
        "Invalid authentication credentials",
        "You cannot consume this service",
    }
)
#: The keys of a body Kong wrote itself, as opposed to one the service behind it wrote.
KONG_BODY_KEYS = frozenset({"message", "request_id"})


def json_or_none(response: httpx.Response) -> Any:
    """The decoded JSON body, or None when the body is not JSON."""
    try:
        return response.json()
    except ValueError:
        return None


def service_message(response: httpx.Response) -> tuple[str | None, str | None]:
    """The answering service's (message, error code), whichever service it was.

    Shapes: Kong ``{"message"}``; GoTrue ``{"code": 401, "error_code", "msg"}`` (or ``{"code": "<error_code>",
    "message"}`` with a newer API version header); pg-meta ``{"error", "message", "code": "<sqlstate>"}``;
    PostgREST ``{"code", "message", "details", "hint"}``; edge-runtime's main router ``{"msg"}``.
    """
    payload = json_or_none(response)
    if isinstance(payload, dict):
        message = next(
            (
                payload[key]
                for key in ("msg", "message", "error_description", "error")
                if isinstance(payload.get(key), str) and payload[key]
            ),
            None,
        )
        code = payload.get("error_code")
        if not isinstance(code, str):
            raw_code = payload.get("code")
            code = raw_code if isinstance(raw_code, str) else None
        return message, code
    text = response.text.strip()
    return (text[:300] or None), None


def refused_by_kong(response: httpx.Response) -> bool:
    """Whether Kong's key-auth or acl refused the request, before any service behind it saw it."""
    payload = json_or_none(response)
    return (
        response.status_code in (401, 403)
        and isinstance(payload, dict)
        and set(payload) <= KONG_BODY_KEYS
        and payload.get("message") in _KONG_REFUSALS
    )


def refusal_hint(response: httpx.Response, message: str | None, code: str | None) -> str:
    """The likely cause of a 401/403, in words: who refused the key, and why."""
    if refused_by_kong(response):
        if message == "No API key found in request":
            return "Kong saw no apikey"
        if message == "You cannot consume this service":
            return (
                "Kong knows the key, but its consumer's ACL group may not use this route "
                "(only the service_role key may use /pg/)"
            )
        return (
            "Kong does not know this key: it is not the ANON_KEY or SERVICE_ROLE_KEY the stack's Kong was deployed with"
        )
    if code == "bad_jwt":
        return "the key is not a JWT signed with the stack's JWT_SECRET (or it expired)"
    if code == "not_admin":
        return "the key is a valid JWT, but its role is not service_role"
    if code == "no_authorization":
        return "the service saw no 'Authorization: Bearer <jwt>' header"
    return "the service refused the key"


def status_label(response: httpx.Response, code: str | None) -> str:
    """``"401 bad_jwt"``: the status, and the service's error code when it sent one."""
    return f"{response.status_code} {code}" if code else str(response.status_code)
