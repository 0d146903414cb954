#!/usr/bin/env bash
# dokploy-dev: install a real Dokploy on the host's Docker engine with Dokploy's official install script, report
# its state, and remove it again. It runs inside the dokploy-dev container; README.md next to this file explains
# the container's settings and what each command changes on the host.
#
#   dokploy-dev install     (the default) install Dokploy, or find the one dokploy-dev installed before; then
#                           report "ready" and stay up so the health check keeps watching it
#   dokploy-dev health      the container's health check: exit 0 only when ready and Dokploy answers /api/health
#   dokploy-dev uninstall   remove what the install created
#
# Settings (environment): DOKPLOY_VERSION (v0.30.2), DOKPLOY_DEV_FORCE (0), DOKPLOY_DEV_INSTALL_TIMEOUT (1800 s),
# DOKPLOY_DEV_WAIT (900 s), DOKPLOY_INSTALL_SCRIPT_URL, DOKPLOY_INSTALL_SCRIPT_SHA256 (optional); ADVERTISE_ADDR,
# DOCKER_SWARM_INIT_ARGS and ENDPOINT_MODE reach the install script unchanged.
set -euo pipefail

readonly HEALTH_URL="http://localhost:3000/api/health"
readonly CONFIG_DIR=/etc/dokploy
# The marker lives in /etc/dokploy because that directory is the host's: it outlives this container, so a new
# container can tell "our earlier install" from "someone else's Dokploy", and uninstall knows what it may remove.
readonly MARKER="$CONFIG_DIR/.dokploy-dev"
readonly STATE_DIR=/run/dokploy-dev
readonly STATE_FILE="$STATE_DIR/state"
readonly INSTALL_LOG="$STATE_DIR/install.log"

DOKPLOY_VERSION="${DOKPLOY_VERSION:-v0.30.2}"
SCRIPT_URL="${DOKPLOY_INSTALL_SCRIPT_URL:-https://dokploy.com/install.sh}"
WAIT_SECONDS="${DOKPLOY_DEV_WAIT:-900}"
INSTALL_TIMEOUT="${DOKPLOY_DEV_INSTALL_TIMEOUT:-1800}"
# Only the install command lingers after a failure (see fail); uninstall should answer at once.
FAIL_LINGER=0

# What the install script creates on the host. dokploy-redis and dokploy-docker-config come from older scripts;
# uninstall removes them too when an older install left them.
readonly SERVICES=(dokploy dokploy-postgres dokploy-redis)
readonly CONTAINERS=(dokploy-traefik)
readonly SECRETS=(dokploy_postgres_password dokploy_auth_secret)
readonly NETWORKS=(dokploy-network)
readonly VOLUMES=(dokploy-postgres dokploy dokploy-redis dokploy-docker-config)

log() {
    printf 'dokploy-dev: %s\n' "$*"
}

set_state() {
    local state=$1
    shift
    mkdir -p "$STATE_DIR"
    printf '%s: %s\n' "$state" "$*" >"$STATE_FILE.tmp"
    mv "$STATE_FILE.tmp" "$STATE_FILE"
    log "$state: $*"
}

fail() {
    set_state failed "$*"
    # The install command stays up for a few health-check intervals so that `docker inspect` records the reason too,
    # then exits non-zero: `docker compose` stops waiting for a dependency whose container has exited.
    sleep "$FAIL_LINGER"
    exit 1
}

forced() {
    [[ ${DOKPLOY_DEV_FORCE:-0} == 1 ]]
}

service_exists() { docker service inspect "$1" >/dev/null 2>&1; }
container_exists() { docker container inspect "$1" >/dev/null 2>&1; }
volume_exists() { docker volume inspect "$1" >/dev/null 2>&1; }
network_exists() { docker network inspect "$1" >/dev/null 2>&1; }
secret_exists() { docker secret inspect "$1" >/dev/null 2>&1; }

swarm_state() {
    docker info --format '{{.Swarm.LocalNodeState}}' 2>/dev/null || echo unknown
}

marker_value() {
    sed -n "s/^$1=//p" "$MARKER" 2>/dev/null | head -n 1 || true
}

config_dir_has_files() {
    [[ -n $(find "$CONFIG_DIR" -mindepth 1 -maxdepth 1 ! -name "$(basename "$MARKER")" -print -quit 2>/dev/null) ]]
}

# Every trace of a Dokploy on this engine, one per line; empty when there is none.
dokploy_traces() {
    local name
    for name in "${SERVICES[@]}"; do
        if service_exists "$name"; then echo "service $name"; fi
    done
    for name in "${CONTAINERS[@]}"; do
        if container_exists "$name"; then echo "container $name"; fi
    done
    for name in "${VOLUMES[@]}"; do
        if volume_exists "$name"; then echo "volume $name"; fi
    done
    for name in "${NETWORKS[@]}"; do
        if network_exists "$name"; then echo "network $name"; fi
    done
    if config_dir_has_files; then echo "files in $CONFIG_DIR"; fi
}

require_engine() {
    docker version --format '{{.Server.Version}}' >/dev/null 2>&1 ||
        fail "cannot reach the host's Docker engine: mount its socket (-v /var/run/docker.sock:/var/run/docker.sock)"
}

# The engine bind-mounts /etc/hostname from /var/lib/docker/containers/<id>/, so that path names this container.
own_container_id() {
    sed -n 's|.*/containers/\([0-9a-f]\{64\}\)/hostname .*|\1|p' /proc/self/mountinfo | head -n 1
}

# The install only means something when it sees the host: its port checks and advertise address read the network
# it runs in, and the paths it writes under /etc/dokploy are bound by the host engine into Dokploy's services.
check_container_settings() {
    local id mode mounts
    id=$(own_container_id)
    if [[ -z $id ]]; then
        log "warning: cannot find this container's id; not checking host networking and the /etc/dokploy mount"
        return 0
    fi
    mode=$(docker container inspect --format '{{.HostConfig.NetworkMode}}' "$id" 2>/dev/null) || {
        log "warning: cannot inspect this container ($id); not checking its settings"
        return 0
    }
    if [[ $mode != host ]]; then
        fail "this container must share the host's network (network_mode: host, or --network host), not '$mode':" \
            "the install script's port checks and advertise address, and localhost:3000, must mean the host"
    fi
    mounts=$(docker container inspect --format '{{range .Mounts}}{{.Type}} {{.Source}} {{.Destination}}{{"\n"}}{{end}}' "$id" || true)
    if ! grep -qx "bind $CONFIG_DIR $CONFIG_DIR" <<<"$mounts"; then
        fail "the host's $CONFIG_DIR must be bind-mounted at the same path (-v $CONFIG_DIR:$CONFIG_DIR):" \
            "Dokploy's services read their configuration from the host's $CONFIG_DIR"
    fi
}

write_marker() {
    local before=$1
    mkdir -p "$CONFIG_DIR"
    {
        echo "created_by=dokploy-dev"
        echo "installed_at=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
        echo "dokploy_version=$DOKPLOY_VERSION"
        # Uninstall leaves the swarm only when there was none before the install.
        echo "swarm_before=$before"
    } >"$MARKER"
}

# The core of an installation; all of them present means installed, some of them means a broken install.
core_parts() {
    local want=$1 part kind name present
    for part in "service dokploy" "service dokploy-postgres" "container dokploy-traefik" "volume dokploy-postgres"; do
        kind=${part% *}
        name=${part#* }
        present=no
        if "${kind}_exists" "$name"; then present=yes; fi
        if [[ $present == "$want" ]]; then echo "$part"; fi
    done
}

refuse_unless_safe() {
    local traces state
    traces=$(dokploy_traces)
    if [[ -n $traces ]] && ! forced; then
        fail "found a Dokploy on this host that dokploy-dev did not install ($(paste -sd, <<<"$traces"));" \
            "installing would replace it and lose its data. Remove it, or set DOKPLOY_DEV_FORCE=1 to overwrite it"
    fi
    state=$(swarm_state)
    if [[ $state != inactive ]] && ! forced; then
        fail "this Docker engine is in a swarm (state: $state). The install script runs 'docker swarm leave --force'," \
            "which would drop this node from that swarm and delete its services. Use a host outside any swarm," \
            "or set DOKPLOY_DEV_FORCE=1 to accept that"
    fi
    if forced; then
        log "DOKPLOY_DEV_FORCE=1: going ahead (swarm state: $state${traces:+; existing Dokploy: $(paste -sd, <<<"$traces")})"
    fi
}

run_install_script() {
    local script=/tmp/dokploy-install.sh status
    set_state installing "downloading the install script from $SCRIPT_URL"
    curl -fsSL --retry 3 --connect-timeout 20 -o "$script" "$SCRIPT_URL" ||
        fail "cannot download the install script from $SCRIPT_URL"
    if [[ -n ${DOKPLOY_INSTALL_SCRIPT_SHA256:-} ]]; then
        sha256sum --check --status <<<"$DOKPLOY_INSTALL_SCRIPT_SHA256  $script" ||
            fail "the install script from $SCRIPT_URL does not match DOKPLOY_INSTALL_SCRIPT_SHA256"
    fi
    # The script refuses to run where /.dockerenv exists, its guard against installing a Dokploy that would live
    # and die inside a container. Here every docker command it runs goes to the host engine through the socket,
    # so Dokploy's services run on the host exactly as in a real installation: the guard's reason does not apply.
    # The engine creates the file in every container, so it is removed here, not in the image.
    rm -f /.dockerenv || fail "cannot remove /.dockerenv, which makes the install script refuse to run"
    set_state installing "running the official install script for Dokploy $DOKPLOY_VERSION" \
        "(it pulls postgres, dokploy and traefik: minutes on a first run)"
    set +e
    # `docker service create` waits for its service to converge, so a pull that never ends would hang the script.
    DOKPLOY_VERSION="$DOKPLOY_VERSION" timeout "$INSTALL_TIMEOUT" bash "$script" 2>&1 | tee "$INSTALL_LOG"
    status=${PIPESTATUS[0]}
    set -e
    if ((status == 124)); then
        fail "the install script did not finish within ${INSTALL_TIMEOUT}s (DOKPLOY_DEV_INSTALL_TIMEOUT)"
    elif ((status != 0)); then
        fail "the install script exited with status $status: $(grep -v '^[[:space:]]*$' "$INSTALL_LOG" | tail -n 1)"
    fi
}

wait_until_healthy() {
    local deadline=$((SECONDS + WAIT_SECONDS)) task
    set_state installing "waiting for Dokploy to answer $HEALTH_URL (up to ${WAIT_SECONDS}s)"
    until curl -fs --max-time 5 -o /dev/null "$HEALTH_URL"; do
        if ((SECONDS >= deadline)); then
            task=$(docker service ps dokploy --no-trunc --format '{{.CurrentState}} {{.Error}}' 2>/dev/null | head -n 1 || true)
            fail "Dokploy did not answer $HEALTH_URL within ${WAIT_SECONDS}s (dokploy service task: ${task:-none});" \
                "see 'docker service logs dokploy'"
        fi
        sleep 5
    done
}

installed_image() {
    docker service inspect --format '{{.Spec.TaskTemplate.ContainerSpec.Image}}' dokploy 2>/dev/null | cut -d@ -f1 || true
}

cmd_install() {
    local present missing image
    # PID 1 ignores SIGTERM without a handler; `docker stop` should not have to wait for its SIGKILL.
    trap 'log "stopping; Dokploy keeps running on the host (dokploy-dev uninstall removes it)"; exit 0' TERM INT
    FAIL_LINGER=${DOKPLOY_DEV_FAIL_LINGER:-15}
    set_state installing "checking the host"
    require_engine
    check_container_settings
    if [[ -f $MARKER ]]; then
        present=$(core_parts yes)
        missing=$(core_parts no)
        if [[ -z $missing ]]; then
            log "Dokploy was installed by dokploy-dev on $(marker_value installed_at); not running the install script again"
        elif [[ -n $present ]]; then
            fail "an earlier dokploy-dev install is incomplete (missing: $(paste -sd, <<<"$missing"));" \
                "run 'dokploy-dev uninstall', then install again"
        else
            # An earlier attempt stopped before creating anything; only the swarm it may have made is ours.
            if [[ $(marker_value swarm_before) != inactive ]]; then
                refuse_unless_safe
            fi
            run_install_script
        fi
    else
        refuse_unless_safe
        # Written before the script runs, so that uninstall can clean up after a failed attempt too.
        write_marker "$(swarm_state)"
        run_install_script
    fi
    wait_until_healthy
    image=$(installed_image)
    if [[ -n $image && $image != *":$DOKPLOY_VERSION" ]]; then
        log "warning: the running Dokploy image is $image, not $DOKPLOY_VERSION (uninstall, then install to change it)"
    fi
    set_state ready "Dokploy (${image:-unknown image}) answers on http://localhost:3000, its UI and its API"
    sleep infinity &
    wait $!
}

cmd_health() {
    local state
    if ! state=$(cat "$STATE_FILE" 2>/dev/null); then
        echo "no state yet (the install command has not started)"
        exit 1
    fi
    case $state in
        ready:*)
            if curl -fs --max-time 4 -o /dev/null "$HEALTH_URL"; then
                echo "$state"
                exit 0
            fi
            echo "unhealthy: Dokploy stopped answering $HEALTH_URL"
            exit 1
            ;;
        *)
            echo "$state"
            exit 1
            ;;
    esac
}

# Swarm tasks outlive `docker service rm` for a few seconds, and their volumes cannot be removed until they are gone.
wait_for_service_containers() {
    local name=$1 deadline=$((SECONDS + 60))
    while [[ -n $(docker ps -aq --filter "label=com.docker.swarm.service.name=$name") ]]; do
        if ((SECONDS >= deadline)); then
            log "warning: containers of service $name are still there after 60s"
            return 0
        fi
        sleep 2
    done
}

cmd_uninstall() {
    local traces swarm_before name attached problems=0
    require_engine
    if [[ -f $MARKER ]]; then
        swarm_before=$(marker_value swarm_before)
    else
        traces=$(dokploy_traces)
        if [[ -z $traces ]]; then
            log "nothing to uninstall: no Dokploy on this host"
            return 0
        fi
        if ! forced; then
            log "refusing: this Dokploy was not installed by dokploy-dev (no $MARKER); found: $(paste -sd, <<<"$traces")."
            log "Set DOKPLOY_DEV_FORCE=1 to remove it anyway, with its database."
            exit 1
        fi
        swarm_before=unknown
    fi
    if ! awk -v dir="$CONFIG_DIR" '$5 == dir { found = 1 } END { exit !found }' /proc/self/mountinfo; then
        log "refusing: the host's $CONFIG_DIR is not mounted here (-v $CONFIG_DIR:$CONFIG_DIR), so its files would stay"
        exit 1
    fi
    log "uninstalling Dokploy from this host"
    for name in "${SERVICES[@]}"; do
        if service_exists "$name"; then
            docker service rm "$name" >/dev/null && log "removed service $name"
        fi
    done
    for name in "${SERVICES[@]}"; do
        wait_for_service_containers "$name"
    done
    for name in "${CONTAINERS[@]}"; do
        if container_exists "$name"; then
            docker rm -f "$name" >/dev/null && log "removed container $name"
        fi
    done
    for name in "${SECRETS[@]}"; do
        if secret_exists "$name"; then
            docker secret rm "$name" >/dev/null && log "removed secret $name"
        fi
    done
    for name in "${NETWORKS[@]}"; do
        if network_exists "$name"; then
            if docker network rm "$name" >/dev/null 2>&1; then
                log "removed network $name"
            else
                attached=$(docker network inspect --format '{{range .Containers}}{{.Name}} {{end}}' "$name" 2>/dev/null || true)
                log "could not remove network $name; still attached: ${attached:-?} (apps deployed through Dokploy:" \
                    "delete them in Dokploy, or remove those containers, then run uninstall again)"
                problems=1
            fi
        fi
    done
    if [[ $swarm_before == inactive ]]; then
        if [[ $(swarm_state) == active ]]; then
            docker swarm leave --force >/dev/null && log "left the swarm the install created"
        fi
        # The script replaced the engine's docker_gwbridge with its own; a host outside any swarm has no use for it,
        # and the engine makes a new one if the host joins a swarm later.
        if network_exists docker_gwbridge && docker network rm docker_gwbridge >/dev/null 2>&1; then
            log "removed network docker_gwbridge"
        fi
    elif [[ $(swarm_state) == active ]]; then
        log "staying in the swarm: this host was in one before the install ($swarm_before)"
    fi
    for name in "${VOLUMES[@]}"; do
        if volume_exists "$name"; then
            if docker volume rm "$name" >/dev/null 2>&1; then
                log "removed volume $name"
            else
                log "could not remove volume $name (still in use?)"
                problems=1
            fi
        fi
    done
    # The directory itself is this container's mount point and cannot go; its contents, the marker last, can.
    find "$CONFIG_DIR" -mindepth 1 -maxdepth 1 ! -name "$(basename "$MARKER")" -exec rm -rf {} +
    if ((problems)); then
        log "uninstall incomplete: see the lines above; the marker stays so that uninstall can be run again"
        exit 1
    fi
    rm -f "$MARKER"
    log "uninstalled: Dokploy's services, containers, secrets, network and volumes are gone; $CONFIG_DIR is empty"
}

main() {
    local command=${1:-install}
    case $command in
        install) cmd_install ;;
        health) cmd_health ;;
        uninstall) cmd_uninstall ;;
        *)
            echo "usage: dokploy-dev [install|health|uninstall]" >&2
            exit 2
            ;;
    esac
}

main "$@"
