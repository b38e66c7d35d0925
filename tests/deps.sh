# shellcheck shell=bash
# What building and testing unixsockd needs on Debian 12, installed when missing.
DEPS_BUILD="meson ninja-build pkg-config gcc libc6-dev libsystemd-dev libinih-dev libcriterion-dev scdoc libjson-c-dev"
# integration tests: systemd-socket-activate, socat as a client, python3 for
# the example pool worker; the systemd suite: nspawn and debootstrap;
# prometheus for promtool (unixsockctl metrics is checked with it)
DEPS_TEST="systemd socat python3 systemd-container debootstrap procps valgrind prometheus"

deps_missing() {
        local p
        for p in "$@"; do
                dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' || echo "$p"
        done
}

deps_install() {
        local missing
        # shellcheck disable=SC2086
        missing=$(deps_missing $DEPS_BUILD $DEPS_TEST "$@")
        [ -n "$missing" ] || return 0
        if [ "$(id -u)" != 0 ]; then
                echo "missing packages:" $missing "(run as root to install them)" >&2
                return 1
        fi
        echo "installing:" $missing >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get -o DPkg::Lock::Timeout=600 update -qq
        # shellcheck disable=SC2086
        apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends $missing >/dev/null
}
