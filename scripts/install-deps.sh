#!/usr/bin/env bash
# Installs the Debian packages the build and the tests need, skipping those
# already present. Safe to run again; needs root (or sudo) only when
# something is missing.
set -euo pipefail

packages=(
    build-essential cmake ninja-build pkg-config
    libasio-dev libspdlog-dev nlohmann-json3-dev doctest-dev libcli11-dev libsqlite3-dev libxxhash-dev libjemalloc-dev
    python3 netcat-openbsd tmux clang-format
    systemd man-db dpkg-dev  # systemd-analyze, its man-page check, dpkg-shlibdeps for the .deb
    rsync iproute2           # benchmark baselines (rsync daemon), ss; ip netns for the two-host tests
    nftables                 # loss, duplication and cuts on the two-host tests' link
    clang libclang-rt-14-dev # libFuzzer for make fuzz
    libsodium-dev python3-dissononce  # Noise handshakes (crypto/) and the cross-check against an independent Noise
    openssh-server           # the benchmark's scp baseline: its own sshd on loopback, never the system's
)

missing=()
for p in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [ "$status" = "install ok installed" ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
sudo=()
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "install-deps: missing packages (${missing[*]}); run as root" >&2; exit 1; }
    sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"

# The bench starts its own sshd on loopback when it needs one: an
# openssh-server installed here is not left running as a service that
# listens on every interface.
if [[ " ${missing[*]} " == *" openssh-server "* ]] && command -v systemctl >/dev/null; then
    "${sudo[@]}" systemctl disable --now ssh.service ssh.socket >/dev/null 2>&1 || true
    echo "install-deps: openssh-server installed for the benchmark; its ssh service is disabled" >&2
fi
