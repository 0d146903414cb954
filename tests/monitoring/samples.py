"""Realistic container logs of a Supabase stack, as ``compose.readLogs`` returns them (``docker logs --timestamps``).

The stack is the real Dokploy import of the Supabase template (recording ``compose.one--supabase-imported``); its
generated secrets show up in some lines, as they do when a service logs a connection string or an operator prints
the env. Line formats follow what the services print (sources in ``dokploy_mcp.monitoring.levels``):

- auth: GoTrue JSON lines with "level" ("info", "warning", "error"), the same error twice with other ids and times;
- db: Postgres ``<ip> <time> UTC [pid] user@db SEVERITY:  message`` with DETAIL / STATEMENT lines;
- kong: nginx ``[warn]`` / ``[notice]`` / ``[error]`` lines and combined access-log lines;
- rest: PostgREST ``22/Nov/2026:15:00:07 +0000: message`` lines and an access-log line; one error before the deploy;
- realtime: Elixir Logger lines and a GenServer crash report (``** (...)``, indented frames, ``Last message:``);
- storage: pino JSON (numeric levels), a 500 logged at level 30, a line of 12,000 characters;
- functions: edge-runtime plain text, a coloured Deno TypeError with its ``at`` frames, the JWT secret printed;
- analytics: logflare (Elixir) errors separated by blank lines, a database URL with the password;
- studio: Next.js output with ANSI colours;
- imgproxy, vector: a level word first.

The deployment in :data:`DEPLOYMENT` started at 15:00:00; the rest error at 14:59:50 comes before it, the auth
password failure of analytics at 15:00:05.300 is the first error after it... except the db's own FATAL at
15:00:05.200, which is first.
"""

from __future__ import annotations

import hashlib
from typing import Any

from dokploy_mcp.dokploy.models import Compose, Deployment
from dokploy_mcp.supabase.env import EnvFile
from tests.dokploy.recordings import load

SUPABASE: dict[str, Any] = load("compose.one--supabase-imported").response_body
COMPOSE = Compose.model_validate(SUPABASE)
ENV = EnvFile.parse(COMPOSE.env or "")
APP_NAME = COMPOSE.app_name


def _secret(key: str) -> str:
    value = ENV.get(key)
    assert value, f"the recorded env has no {key}"
    return value


POSTGRES_PASSWORD = _secret("POSTGRES_PASSWORD")
JWT_SECRET = _secret("JWT_SECRET")
SERVICE_ROLE_KEY = _secret("SERVICE_ROLE_KEY")
ANON_KEY = _secret("ANON_KEY")

DEPLOYMENT = Deployment(
    deployment_id="dep-2",
    title="Manual deployment",
    status="done",
    created_at="2026-11-22T15:00:00.000Z",
    started_at="2026-11-22T15:00:00.000Z",
    finished_at="2026-11-22T15:00:40.000Z",
)
OLDER_DEPLOYMENT = Deployment(
    deployment_id="dep-1",
    title="first deploy",
    status="done",
    created_at="2026-11-22T14:00:00.000Z",
    started_at="2026-11-22T14:00:00.000Z",
    finished_at="2026-11-22T14:00:50.000Z",
)

AUTH = (
    '2026-11-22T15:00:02.101234567Z {"level":"info","msg":"Go runtime metrics collection started",'
    '"time":"2026-11-22T15:00:02Z"}\n'
    '2026-11-22T15:00:02.412345678Z {"component":"pop","level":"info","msg":"Migrations already up to date, '
    'nothing to apply","time":"2026-11-22T15:00:02Z"}\n'
    '2026-11-22T15:00:05.500000000Z {"component":"api","level":"warning","msg":"DEPRECATION NOTICE: '
    "GOTRUE_JWT_ADMIN_GROUP_NAME not supported by Supabase's GoTrue, will be removed soon\","
    '"time":"2026-11-22T15:00:05Z"}\n'
    '2026-11-22T15:00:06.000000000Z {"level":"info","msg":"GoTrue API started on: 0.0.0.0:9999",'
    '"time":"2026-11-22T15:00:06Z"}\n'
    '2026-11-22T15:01:10.123456789Z {"component":"api","error":"invalid JWT: unable to parse or verify signature, '
    'token signature is invalid","level":"error","method":"GET","msg":"400: invalid JWT","path":"/user",'
    '"remote_addr":"172.22.0.12","request_id":"8f3c2a1e-1b2c-4d5e-8f90-123456789abc",'
    '"time":"2026-11-22T15:01:10Z"}\n'
    f'2026-11-22T15:01:30.000000000Z {{"component":"api","level":"info","msg":"admin request",'
    f'"authorization":"Bearer {SERVICE_ROLE_KEY}","path":"/admin/users","time":"2026-11-22T15:01:30Z"}}\n'
    '2026-11-22T15:02:20.987654321Z {"component":"api","error":"invalid JWT: unable to parse or verify signature, '
    'token signature is invalid","level":"error","method":"GET","msg":"400: invalid JWT","path":"/user",'
    '"remote_addr":"172.22.0.13","request_id":"0b5c1c9e-6a3e-4f1a-9a55-0c7b2ad0f3c1",'
    '"time":"2026-11-22T15:02:20Z"}\n'
)

DB = (
    "2026-11-22T15:00:03.000000000Z 2026-11-22 15:00:03.000 UTC [1] LOG:  starting PostgreSQL 17.6 on "
    "x86_64-pc-linux-gnu, compiled by gcc (GCC) 13.2.0, 64-bit\n"
    "2026-11-22T15:00:04.100000000Z 2026-11-22 15:00:04.100 UTC [1] LOG:  database system is ready to accept "
    "connections\n"
    "2026-11-22T15:00:05.200000000Z 172.22.0.9 2026-11-22 15:00:05.200 UTC [87] supabase_admin@_supabase FATAL:  "
    'password authentication failed for user "supabase_admin"\n'
    "2026-11-22T15:00:05.200100000Z 172.22.0.9 2026-11-22 15:00:05.200 UTC [87] supabase_admin@_supabase DETAIL:  "
    'Connection matched file "/etc/postgresql/pg_hba.conf" line 89: "host  all  all  172.16.0.0/12  '
    'scram-sha-256"\n'
    "2026-11-22T15:00:09.300000000Z 172.22.0.9 2026-11-22 15:00:09.300 UTC [91] supabase_admin@_supabase FATAL:  "
    'password authentication failed for user "supabase_admin"\n'
    "2026-11-22T15:00:09.300100000Z 172.22.0.9 2026-11-22 15:00:09.300 UTC [91] supabase_admin@_supabase DETAIL:  "
    'Connection matched file "/etc/postgresql/pg_hba.conf" line 89: "host  all  all  172.16.0.0/12  '
    'scram-sha-256"\n'
    "2026-11-22T15:01:40.500000000Z 172.22.0.7 2026-11-22 15:01:40.500 UTC [120] authenticator@postgres ERROR:  "
    'relation "public.todos" does not exist at character 15\n'
    "2026-11-22T15:01:40.500200000Z 172.22.0.7 2026-11-22 15:01:40.500 UTC [120] authenticator@postgres "
    "STATEMENT:  SELECT * FROM public.todos LIMIT 10\n"
    "2026-11-22T15:05:00.000000000Z 2026-11-22 15:05:00.000 UTC [26] LOG:  checkpoint starting: time\n"
)

KONG = (
    '2026-11-22T15:00:01.000000000Z 2026/11/22 15:00:01 [warn] 1#0: the "user" directive makes sense only if the '
    "master process runs with super-user privileges, ignored in /usr/local/kong/nginx.conf:7\n"
    '2026-11-22T15:00:01.000100000Z nginx: [warn] the "user" directive makes sense only if the master process runs '
    "with super-user privileges, ignored in /usr/local/kong/nginx.conf:7\n"
    '2026-11-22T15:00:02.000000000Z 2026/11/22 15:00:02 [notice] 1#0: using the "epoll" event method\n'
    '2026-11-22T15:01:10.200000000Z 172.22.0.1 - - [22/Nov/2026:15:01:10 +0000] "GET /auth/v1/user HTTP/1.1" 400 '
    '77 "-" "supabase-js/2.45.4"\n'
    "2026-11-22T15:01:45.000000000Z 2026/11/22 15:01:45 [error] 1234#0: *42 connect() failed (111: Connection "
    "refused) while connecting to upstream, client: 172.22.0.1, server: kong, request: "
    '"GET /rest/v1/todos HTTP/1.1", upstream: "http://172.22.0.5:3000/todos", host: "localhost:8000"\n'
    '2026-11-22T15:01:45.000200000Z 172.22.0.1 - - [22/Nov/2026:15:01:45 +0000] "GET /rest/v1/todos?select=* '
    'HTTP/1.1" 502 69 "-" "supabase-js/2.45.4"\n'
)

REST = (
    "2026-11-22T14:59:50.000000000Z 22/Nov/2026:14:59:50 +0000: Failed to load the schema cache. "
    '{"code":"PGRST002","details":null,"hint":null,"message":"Could not query the database for the schema cache. '
    'Retrying."}\n'
    "2026-11-22T15:00:07.000000000Z 22/Nov/2026:15:00:07 +0000: Starting PostgREST 14.1...\n"
    "2026-11-22T15:00:07.100000000Z 22/Nov/2026:15:00:07 +0000: Attempting to connect to the database...\n"
    "2026-11-22T15:00:07.200000000Z 22/Nov/2026:15:00:07 +0000: Connection successful\n"
    "2026-11-22T15:00:07.300000000Z 22/Nov/2026:15:00:07 +0000: Listening on port 3000\n"
    '2026-11-22T15:01:40.510000000Z 172.22.0.4 - anon [22/Nov/2026:15:01:40 +0000] "GET /todos?select=* HTTP/1.1" '
    '404 - "" "supabase-js/2.45.4"\n'
)

REALTIME = (
    "2026-11-22T15:00:08.000000000Z 15:00:08.000 [info] Running RealtimeWeb.Endpoint with Bandit 1.5.7 at :::4000 "
    "(http)\n"
    "2026-11-22T15:00:10.000000000Z 15:00:10.000 project=realtime-dev external_id=realtime-dev [error] Auth error: "
    "tenant `realtime-dev` not found\n"
    "2026-11-22T15:00:12.000000000Z 15:00:12.000 [error] GenServer #PID<0.3124.0> terminating\n"
    "2026-11-22T15:00:12.000100000Z ** (DBConnection.ConnectionError) connection not available and request was "
    "dropped from queue after 10973ms.\n"
    "2026-11-22T15:00:12.000200000Z     (db_connection 2.7.0) lib/db_connection.ex:1000: DBConnection.run/3\n"
    "2026-11-22T15:00:12.000300000Z     (realtime 2.102.3) lib/realtime/tenants/connect.ex:120: "
    "Realtime.Tenants.Connect.handle_continue/2\n"
    "2026-11-22T15:00:12.000400000Z Last message: {:continue, :db_connect}\n"
    "2026-11-22T15:00:30.000000000Z 15:00:30.000 [info] Connected to tenant realtime-dev\n"
)

LONG_PAYLOAD = "x" * 12_000
STORAGE = (
    '2026-11-22T15:00:06.500000000Z {"level":30,"time":"2026-11-22T15:00:06.499Z","pid":1,"hostname":"b1d0c9a8",'
    '"msg":"Server listening at http://0.0.0.0:5000"}\n'
    '2026-11-22T15:01:55.000000000Z {"level":30,"time":"2026-11-22T15:01:55.000Z","pid":1,"hostname":"b1d0c9a8",'
    '"reqId":"req-7","tenantId":"stub","type":"request","req":{"method":"POST","url":"/object/avatars/a.png"},'
    '"res":{"statusCode":500},"responseTime":8.1,"error":{"message":"new row violates row-level security policy"},'
    '"msg":"stub | POST | 500 | 172.22.0.8 | req-7 | /object/avatars/a.png | node"}\n'
    '2026-11-22T15:02:00.000000000Z {"level":40,"time":"2026-11-22T15:02:00.000Z","pid":1,"msg":"slow request",'
    f'"req":{{"url":"/object/list/avatars","body":"{LONG_PAYLOAD}"}}}}\n'
)

FUNCTIONS = (
    "2026-11-22T15:00:09.000000000Z main function started\n"
    "2026-11-22T15:01:20.000000000Z serving the request with /home/deno/functions/hello\n"
    "2026-11-22T15:01:20.100000000Z \x1b[31mTypeError\x1b[39m: Cannot read properties of undefined (reading 'id')\n"
    "2026-11-22T15:01:20.100100000Z     at Object.handler (file:///home/deno/functions/hello/index.ts:12:27)\n"
    "2026-11-22T15:01:20.100200000Z     at async Server.<anonymous> (ext:sb_core_main_js/js/http.js:58:20)\n"
    f"2026-11-22T15:01:25.000000000Z env check: JWT_SECRET={JWT_SECRET} VERIFY_JWT=false\n"
)

ANALYTICS = (
    "2026-11-22T15:00:05.300000000Z 15:00:05.300 [error] Postgrex.Protocol (#PID<0.4730.0>) failed to connect: "
    '** (Postgrex.Error) FATAL 28P01 (invalid_password) password authentication failed for user "supabase_admin"\n'
    "2026-11-22T15:00:05.300100000Z \n"
    "2026-11-22T15:00:09.400000000Z 15:00:09.400 [error] Postgrex.Protocol (#PID<0.4731.0>) failed to connect: "
    '** (Postgrex.Error) FATAL 28P01 (invalid_password) password authentication failed for user "supabase_admin"\n'
    "2026-11-22T15:00:09.400100000Z \n"
    f"2026-11-22T15:00:20.000000000Z 15:00:20.000 [info] Connecting to "
    f"postgresql://supabase_admin:{POSTGRES_PASSWORD}@db:5432/_supabase\n"
)

STUDIO = (
    "2026-11-22T15:00:11.000000000Z  \x1b[32m\x1b[1m✓\x1b[22m\x1b[39m Ready in 1520ms\n"
    "2026-11-22T15:01:50.000000000Z  \x1b[31m\x1b[1m⨯\x1b[22m\x1b[39m Error: fetch failed\n"
)

IMGPROXY = "2026-11-22T15:00:03.000000000Z INFO    [2026-11-22T15:00:03Z] Starting server at :5001\n"

VECTOR = (
    '2026-11-22T15:00:02.123456000Z 2026-11-22T15:00:02.123456Z  INFO vector::app: Log level is enabled. level="info"\n'
    "2026-11-22T15:00:30.000000000Z 2026-11-22T15:00:30.000000Z  WARN sink{component_id=logflare_auth}: "
    "vector::sinks::util::retries: Retrying after error. error=Server responded with an error: 502 Bad Gateway\n"
)

#: Raw ``compose.readLogs`` text per service.
LOGS: dict[str, str] = {
    "analytics": ANALYTICS,
    "auth": AUTH,
    "db": DB,
    "functions": FUNCTIONS,
    "imgproxy": IMGPROXY,
    "kong": KONG,
    "realtime": REALTIME,
    "rest": REST,
    "storage": STORAGE,
    "studio": STUDIO,
    "vector": VECTOR,
}

#: Lines a client or an attacker chose (a request path in kong's access log): they must be read as text, quickly.
HOSTILE_LINES = [
    '{"a":' * 50_000 + "1" + "}" * 50_000,  # raised RecursionError out of the JSON decoder
    '{"msg": "' + "ab-" * 3_000 + '"}',
    '"GET /' + "ab-" * 3_000 + ' HTTP/1.1" 404 ',
    "a@" * 5_000,
]

#: Docker CLI output mixed in by Dokploy's ``2>&1``: no timestamp, and the container is gone.
DEAD_CONTAINER = "Error response from daemon: can not get logs from container which is dead or marked for removal\n"


def container_id(service: str, replica: int = 1) -> str:
    """A 12-hex-digit container id, stable per service and replica."""
    return hashlib.sha1(f"{service}/{replica}".encode()).hexdigest()[:12]


def container_rows(
    style: str, services: list[str] | None = None, *, state: str = "running", replicas: dict[str, int] | None = None
) -> list[dict[str, str]]:
    """``docker.getContainersByAppNameMatch`` rows for the stack in compose ``v1`` (``app_db_1``) or ``v2``
    (``app-db-1``) naming; ``replicas`` scales some services."""
    separator = {"v1": "_", "v2": "-"}[style]
    status = "Up 5 minutes (healthy)" if state == "running" else "Exited (1) 2 minutes ago"
    return [
        {
            "containerId": container_id(service, replica),
            "name": f"{APP_NAME}{separator}{service}{separator}{replica}",
            "state": state,
            "status": status,
        }
        for service in (services if services is not None else sorted(LOGS))
        for replica in range(1, (replicas or {}).get(service, 1) + 1)
    ]


def recorded_compose(name: str) -> Compose:
    """The compose of a recorded ``compose.one`` answer."""
    return Compose.model_validate(load(name).response_body)
