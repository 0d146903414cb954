"""Sign-in (better-auth, outside the tRPC router), the signed-in user and its API keys."""

from __future__ import annotations

from pydantic import SecretStr

from dokploy_mcp.dokploy.models import ApiKey, AuthSession, CurrentUser
from dokploy_mcp.dokploy.typed import TypedCalls, without_none

__all__ = ["UserEndpoints"]


class UserEndpoints(TypedCalls):
    """Sign-up, sign-in and the ``user.*`` procedures of :class:`~dokploy_mcp.dokploy.client.DokployClient`."""

    async def auth_sign_up_email(
        self,
        *,
        email: str,
        password: SecretStr,
        name: str,
        last_name: str | None = None,
        request_timeout: float = 180.0,
    ) -> AuthSession:
        """Create the first admin (``POST /api/auth/sign-up/email``); the session cookie lands in this client's jar.

        Sends no key, Cookie or Origin: better-auth checks the Origin only when cookies are present, and a fresh
        install has no trusted origin yet. ``request_timeout`` is long because the sign-up hook looks up the public IP,
        which takes about 60 s on a host without internet. Dokploy answers 400 "Admin is already created" once an
        owner exists.

        Raises:
            DokployError: see the class docstring.
        """
        body = without_none(
            {"email": email, "password": password.get_secret_value(), "name": name, "lastName": last_name}
        )
        payload = await self._request(
            "POST", "auth/sign-up/email", body=body, authenticated=False, request_timeout=request_timeout
        )
        return self._model(AuthSession, payload, "auth/sign-up/email")

    async def auth_sign_in_email(self, *, email: str, password: SecretStr) -> AuthSession:
        """Sign in (``POST /api/auth/sign-in/email``); the session cookie lands in this client's jar.

        Raises:
            DokployAuthError: wrong e-mail or password (401).
            DokployError: see the class docstring.
        """
        body = {"email": email, "password": password.get_secret_value()}
        payload = await self._request("POST", "auth/sign-in/email", body=body, authenticated=False)
        return self._model(AuthSession, payload, "auth/sign-in/email")

    async def user_create_api_key(
        self, *, name: str, organization_id: str, rate_limit_enabled: bool = False, expires_in: int | None = None
    ) -> ApiKey:
        """Create an API key for the signed-in user (``user.createApiKey``), by default WITHOUT a rate limit.

        Dokploy keeps better-auth's default limit otherwise: 10 counted requests a day, and every REST call counts
        twice, so such a key answers 401 after 5 calls.

        Raises:
            DokployError: see the class docstring.
        """
        body = without_none(
            {
                "name": name,
                "metadata": {"organizationId": organization_id},
                "rateLimitEnabled": rate_limit_enabled,
                "expiresIn": expires_in,
            }
        )
        return self._model(ApiKey, await self.mutate("user.createApiKey", body), "user.createApiKey")

    async def user_get(self) -> CurrentUser:
        """The caller: organization, role and e-mail of the key's user.

        Raises:
            DokployError: see the class docstring.
        """
        return self._model(CurrentUser, await self.query("user.get"), "user.get")
