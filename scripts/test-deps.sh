#!/usr/bin/env bash
# Installs what the tests need on a fresh Debian machine (CI runs this as root
# through `make test`). Idempotent: installs only what is missing.
set -euo pipefail

need=()
have() { command -v "$1" >/dev/null 2>&1; }

# Tools the end-to-end tests drive: /bin/sh and sleep (coreutils) run as tasks,
# ps/pgrep-free process checks read /proc; ip (iproute2) for namespace tests.
have ip || need+=(iproute2)
have sleep || need+=(coreutils)
have flock || need+=(util-linux)
# The container driver's tests build images and rootfs dirs from a static busybox.
[ -x /bin/busybox ] || need+=(busybox-static)
# The container driver's seccomp profile builds against libseccomp (cgo, pkg-config).
# (cgo needs a C compiler; `make build` adds the seccomp tag only with both.)
pkg-config --exists libseccomp 2>/dev/null || need+=(libseccomp-dev pkg-config)
have gcc || need+=(gcc libc6-dev)
# The qemu driver boots a real kernel with a busybox initramfs (TCG).
have qemu-system-x86_64 || need+=(qemu-system-x86)
ls /boot/vmlinuz-* >/dev/null 2>&1 || need+=(linux-image-cloud-amd64)
# Bridge networking (group network mode "bridge") runs the standard CNI
# plugins from /usr/lib/cni through libcni; they drive iptables.
[ -x /usr/lib/cni/bridge ] || need+=(containernetworking-plugins)
have iptables || need+=(iptables)
# The portmap plugin's nftables backend (below) runs the nft CLI.
have nft || need+=(nftables)
# The UI's browser tests drive Debian's chromium with chromedp.
have chromium || need+=(chromium)

if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "test-deps: missing ${need[*]}; run as root or install them" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

# Go modules through the module proxy (among them pebble, Let's Encrypt's
# ACME test CA, which the ingress's ACME tests run in-process).
go mod download

# A portmap plugin with the nftables backend in /opt/cni/bin (first in the
# client's default cni_path): Debian's plugins (1.1.1) map ports with ~30
# iptables execs per allocation, this one with one nft transaction (v1.9.0
# and later: earlier releases' nftables backend could intercept non-local
# traffic). The client picks the backend from the binary's build info.
portmap=v1.10.0
if ! go version -m /opt/cni/bin/portmap 2>/dev/null | grep -q "mod[[:space:]]*github.com/containernetworking/plugins[[:space:]]*$portmap"; then
  mkdir -p /opt/cni/bin
  GOBIN=/opt/cni/bin go install "github.com/containernetworking/plugins/plugins/meta/portmap@$portmap"
fi
