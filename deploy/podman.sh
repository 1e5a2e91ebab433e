#!/usr/bin/env bash
# shellcheck disable=SC2317 # the cmd_* functions are called as "cmd_$c"
# Builds the workhealth image and runs the stack with rootful podman, on a
# Debian 12 host that reaches a Debian mirror but no container registry.
#
# usage: deploy/podman.sh COMMAND...
#   install   apt-get install podman, buildah, podman-compose, runc,
#             debootstrap and the helpers they need, when any is missing
#   setup     write /etc/containers/containers.conf when it is absent (see below)
#   base      make the base image ($WH_BASE_IMAGE) with debootstrap, once:
#             an image already in podman's store is kept (`rebase` remakes it)
#   rebase    remake the base image even when it exists
#   image     base, then build the workhealth image ($WH_IMAGE) from deploy/Dockerfile
#   up        podman-compose up -d (project $WH_PROJECT), after `image` when
#             the image is missing
#   down      podman-compose down; the named volumes, and so the data, stay
#   purge     down, then remove the project's volumes: every store is deleted
#   ps        the project's containers
#   all       install, setup, image, up: a clean host to a running stack
# Several commands run in order: `deploy/podman.sh image up`.
#
# Environment:
#   WH_PROJECT       compose project name, the prefix of containers and volumes
#                    (default workhealth)
#   WH_IMAGE         image to build and run (default localhost/workhealth:latest)
#   WH_BASE_IMAGE    base image (default localhost/workhealth-base:bookworm)
#   WH_DEBIAN_MIRROR mirror for debootstrap (default: the first bookworm mirror in
#                    /etc/apt/sources.list*, else http://deb.debian.org/debian)
#   WH_BIND_ADDR, WH_PORT, WH_PUBLIC_URL and the other variables compose.yaml
#   names are passed on to podman-compose.
#
# Why these settings: podman's default OCI runtime (crun) fails on hosts with
# the hybrid cgroup layout, and without systemd as PID 1 the systemd cgroup
# manager and the journald event logger cannot work; runc with cgroupfs runs
# everywhere. Podman's default open-files limit (1048576) is above the hard
# limit of many hosts, and a container then does not start at all. The file
# is written only when there is none, never over an administrator's own.
set -euo pipefail

prog=${0##*/}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)

export WH_PROJECT=${WH_PROJECT:-workhealth}
export WH_IMAGE=${WH_IMAGE:-localhost/workhealth:latest}
WH_BASE_IMAGE=${WH_BASE_IMAGE:-localhost/workhealth-base:bookworm}
SUITE=bookworm
# catatonit is the init that compose's `init: true` runs as PID 1; netavark
# and aardvark-dns give the project network names (services find "gateway"),
# and netavark sets up its rules with iptables, which a minimal host lacks
# (without it every build step that runs a command fails with "netavark: No
# such file or directory").
PACKAGES="podman buildah podman-compose runc debootstrap catatonit netavark aardvark-dns iptables"
CONTAINERS_CONF=/etc/containers/containers.conf

say() { printf '%s: %s\n' "$prog" "$*" >&2; }
die() {
    say "$*"
    exit 1
}

usage() { sed -n '/^# usage:/,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p;}' "$0"; }

need_root() { [ "$(id -u)" -eq 0 ] || die "$1 needs root (rootful podman); run it as root"; }

cmd_install() {
    local missing=() p
    for p in $PACKAGES; do
        dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^.i' || missing+=("$p")
    done
    if [ ${#missing[@]} -eq 0 ]; then
        say "podman and its tools are installed"
        return 0
    fi
    need_root install
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # A fresh machine has no package lists yet; a recent one needs no update.
    apt-get -o Acquire::Retries=3 install -y "${missing[@]}" 2>/dev/null ||
        { apt-get -o Acquire::Retries=3 update &&
            apt-get -o Acquire::Retries=3 install -y "${missing[@]}"; }
}

cmd_setup() {
    command -v podman >/dev/null || die "podman is not installed; run '$prog install' first"
    if [ -e "$CONTAINERS_CONF" ]; then
        say "$CONTAINERS_CONF exists; leaving it as it is"
        if [ "$(stat -fc %T /sys/fs/cgroup 2>/dev/null)" != cgroup2fs ] &&
            ! grep -Eq '^[[:space:]]*runtime[[:space:]]*=[[:space:]]*"runc"' "$CONTAINERS_CONF"; then
            say "warning: this host's cgroups are not unified (v2) and $CONTAINERS_CONF does not" \
                "choose runc; if containers fail to start, set runtime = \"runc\" and" \
                "cgroup_manager = \"cgroupfs\" under [engine]"
        fi
        return 0
    fi
    need_root setup
    mkdir -p "$(dirname "$CONTAINERS_CONF")"
    local nofile
    nofile=$(ulimit -Hn)
    [ "$nofile" = unlimited ] && nofile=1048576
    [ "$nofile" -gt 1048576 ] && nofile=1048576
    cat >"$CONTAINERS_CONF" <<EOF
# Written by workhealth's deploy/podman.sh; edit freely, it is never rewritten.
[containers]
# Podman's default (1048576) must not exceed this host's hard limit.
default_ulimits = ["nofile=$nofile:$nofile", "nproc=32768:32768"]

[engine]
# crun fails on hosts with the hybrid cgroup layout; runc works on both.
runtime = "runc"
# Neither needs systemd as PID 1.
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
    say "wrote $CONTAINERS_CONF"
}

# The first bookworm mirror apt on this host uses (one-line or deb822 format).
debian_mirror() {
    if [ -n "${WH_DEBIAN_MIRROR:-}" ]; then
        printf '%s\n' "$WH_DEBIAN_MIRROR"
        return
    fi
    local m
    m=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
        awk '$1 == "deb" && $0 ~ / bookworm / { for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) { print $i; exit } }')
    if [ -z "$m" ]; then
        m=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '
            /^$/ { if (uri && bw) { print uri; exit } uri = ""; bw = 0 }
            /^URIs:/ { uri = $2 }
            /^Suites:/ && / bookworm( |$)/ { bw = 1 }
            END { if (uri && bw) print uri }' | head -n 1)
    fi
    # The security archive is not a full mirror.
    case $m in *-security*) m= ;; esac
    printf '%s\n' "${m:-http://deb.debian.org/debian}"
}

have_image() { podman image exists "$1"; }

cmd_base() {
    local force=${1:-0}
    need_root base
    if [ "$force" -eq 0 ] && have_image "$WH_BASE_IMAGE"; then
        say "base image $WH_BASE_IMAGE exists; '$prog rebase' remakes it"
        return 0
    fi
    command -v debootstrap >/dev/null || die "debootstrap is not installed; run '$prog install' first"
    local mirror dir
    mirror=$(debian_mirror)
    dir=$(mktemp -d /var/tmp/wh-rootfs.XXXXXX)
    # Whatever happens, the half-made root file system goes.
    rootfs=$dir
    trap 'rm -rf "$rootfs" "$rootfs.log"' EXIT
    say "debootstrap --variant=minbase $SUITE from $mirror"
    debootstrap --variant=minbase "$SUITE" "$dir" "$mirror" >"$dir.log" 2>&1 ||
        {
            tail -n 20 "$dir.log" >&2
            die "debootstrap failed"
        }
    rm -f "$dir.log"
    slim "$dir" "$mirror"
    say "importing $WH_BASE_IMAGE ($(du -sh "$dir" | cut -f1) on disk)"
    tar --numeric-owner -C "$dir" -c . |
        podman import --change 'CMD ["bash"]' --change 'ENV LANG=C.UTF-8' - "$WH_BASE_IMAGE" >/dev/null
    rm -rf "$dir"
}

# What Debian's official -slim images do (debuerreotype's slimify and its apt
# settings): no documentation, manual pages or translations, now or after
# any later apt-get install, and no apt caches left behind in a layer.
slim() {
    local dir=$1 mirror=$2
    cat >"$dir/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/man/*
EOF
    cat >"$dir/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
    cat >"$dir/etc/apt/apt.conf.d/docker-no-languages" <<'EOF'
Acquire::Languages "none";
EOF
    cat >"$dir/etc/apt/apt.conf.d/docker-gzip-indexes" <<'EOF'
Acquire::GzipIndexes "true";
EOF
    cat >"$dir/etc/apt/apt.conf.d/docker-autoremove-suggests" <<'EOF'
Apt::AutoRemove::SuggestsImportant "false";
EOF
    # Security updates too, as in the official image.
    cat >"$dir/etc/apt/sources.list" <<EOF
deb $mirror $SUITE main
deb $mirror $SUITE-updates main
deb ${mirror%/debian}/debian-security $SUITE-security main
EOF
    find "$dir/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
    find "$dir/usr/share/doc" -mindepth 1 -type d -empty -delete 2>/dev/null || true
    rm -rf "$dir"/usr/share/{groff,info,linda,lintian,locale,man}/* \
        "$dir"/var/cache/apt/* "$dir"/var/lib/apt/lists/* "$dir"/var/log/* "$dir"/tmp/* \
        "$dir"/var/cache/debconf/*-old "$dir"/var/lib/dpkg/*-old
    # A container gets its own; the build host's must not leak into the image.
    : >"$dir/etc/hostname"
    rm -f "$dir/etc/resolv.conf" "$dir/etc/machine-id"
    : >"$dir/etc/machine-id"
}

cmd_image() {
    cmd_base 0
    say "building $WH_IMAGE"
    podman build --pull=never --build-arg "BASE_IMAGE=$WH_BASE_IMAGE" \
        --ignorefile "$root/deploy/Dockerfile.dockerignore" \
        -f "$root/deploy/Dockerfile" -t "$WH_IMAGE" "$root"
    say "$WH_IMAGE: $(podman image inspect --format '{{.Size}}' "$WH_IMAGE" |
        awk '{ printf "%.1f MB", $1 / 1e6 }')"
}

compose() {
    # compose.yaml's default for WH_PUBLIC_URL is nested, which podman-compose
    # 1.0 garbles (even when the variable is set); an override file gives
    # every container the value instead.
    local url=${WH_PUBLIC_URL:-http://localhost:${WH_PORT:-8080}} override name
    override=$(mktemp /tmp/wh-compose.XXXXXX.yaml)
    {
        echo "services:"
        for name in gateway agreements surveys screening notifications; do
            printf '  %s:\n    environment:\n      WH_PUBLIC_URL: "%s"\n' "$name" "${url//\"/}"
        done
    } >"$override"
    local rc=0
    podman-compose -p "$WH_PROJECT" -f "$root/deploy/compose.yaml" -f "$override" "$@" || rc=$?
    rm -f "$override"
    return $rc
}

cmd_up() {
    need_root up
    have_image "$WH_IMAGE" || cmd_image
    compose up -d
    say "stack $WH_PROJECT is starting on http://${WH_BIND_ADDR:-127.0.0.1}:${WH_PORT:-8080}"
    say "admin token: podman exec ${WH_PROJECT}_gateway_1 cat /data/admin.token"
}

cmd_down() {
    need_root down
    compose down
}

cmd_purge() {
    need_root purge
    compose down -v
}

# The whole script is read before anything runs: editing it meanwhile
# cannot change what a running copy does.
main() {
    [ $# -gt 0 ] || {
        usage >&2
        exit 2
    }
    for c in "$@"; do
        case $c in
        install | setup | image | up | down | purge) "cmd_$c" ;;
        base) cmd_base 0 ;;
        rebase) cmd_base 1 ;;
        ps) compose ps ;;
        all)
            cmd_install
            cmd_setup
            cmd_image
            cmd_up
            ;;
        -h | --help)
            usage
            exit 0
            ;;
        *)
            usage >&2
            exit 2
            ;;
        esac
    done
}

main "$@"
exit
