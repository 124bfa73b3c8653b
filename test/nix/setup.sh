#!/usr/bin/env bash
# Provisions the Nix installations the end-to-end suite runs against, idempotently:
#   - Nix 2.8 from Debian bookworm's nix-bin, on the host (and git, if missing);
#   - Nix 2.26 from Debian trixie's nix-bin, in a minbase chroot kept outside the repo.
# Prints the suite's CPR_NIX value (one spec per installation) on its last line.
#
# Environment:
#   CPR_NIX_CACHE  where the chroot lives (default /var/cache/create-pin-refs)
#   CPR_NIX_ONLY   "host" or "chroot" to provision only one of them
#   CPR_DEBIAN_MIRROR  Debian mirror for the chroot (default: the host's apt sources)
#
# The chroot keeps /proc and /dev mounted. To remove it, unmount first
# (umount -R CACHE/trixie/dev CACHE/trixie/proc), or use rm -rf --one-file-system:
# a plain rm -rf would reach the host's /dev through the bind mount.
set -euo pipefail

cache=${CPR_NIX_CACHE:-/var/cache/create-pin-refs}
root=$cache/trixie
only=${CPR_NIX_ONLY:-}

log() { printf 'setup: %s\n' "$*" >&2; }

# Debian's nix-bin makes no /nix: the state folder and its database appear
# when a first Nix command opens the store. Make them now, so that a machine
# where Nix never ran is as ready as one where it did. Runs "$@" (empty for
# the host, "chroot DIR" for the chroot).
init_state() {
  local dir=${2:-}/nix/var/nix
  if [ ! -e "$dir/db/db.sqlite" ]; then
    log "initialising the Nix store's state in $dir"
    "$@" /usr/bin/env NIX_CONFIG='build-users-group =' nix-store --init >&2
  fi
}

need_root() {
  if [ "$(id -u)" != 0 ]; then
    log "must run as root (it installs Debian packages and makes a chroot)"
    exit 1
  fi
}

apt_updated=
apt_install() {
  if [ -z "$apt_updated" ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2
}

host_nix() {
  if ! command -v nix >/dev/null 2>&1; then
    need_root
    log "installing Nix from the host's Debian packages"
    apt_install nix-bin
  fi
  # The suite makes the git repositories behind its git+file flakes on the host.
  if ! command -v git >/dev/null 2>&1; then
    need_root
    apt_install git
  fi
  if [ "$(id -u)" = 0 ]; then init_state; fi
  log "host: $(nix --version)"
}

# The Debian mirror this host's apt already uses (deb822 .sources or a one-line
# sources.list), so the project never names a mirror of its own.
debian_mirror() {
  local uri
  uri=$( { awk '/^URIs:/ {for (i = 2; i <= NF; i++) print $i}' /etc/apt/sources.list.d/*.sources 2>/dev/null
           awk '$1 == "deb" {for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) {print $i; break}}' \
             /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null; } |
         grep -E '/debian/?$' | head -n 1)
  if [ -z "$uri" ]; then
    log "no Debian mirror (a URI ending in /debian) in /etc/apt/sources.list*; set CPR_DEBIAN_MIRROR"
    exit 1
  fi
  echo "${uri%/}"
}

chroot_nix() {
  need_root
  if [ ! -x "$root/usr/bin/nix" ] || [ ! -x "$root/usr/bin/git" ]; then
    command -v debootstrap >/dev/null 2>&1 || apt_install debootstrap
    if [ ! -x "$root/usr/bin/apt-get" ]; then
      mirror=${CPR_DEBIAN_MIRROR:-$(debian_mirror)}
      log "making a Debian trixie chroot in $root from $mirror"
      rm -rf "$root.partial"
      mkdir -p "$cache"
      debootstrap --variant=minbase trixie "$root.partial" "$mirror" >&2
      mv "$root.partial" "$root"
    fi
    mirror=${mirror:-${CPR_DEBIAN_MIRROR:-$(debian_mirror)}}
    echo "deb $mirror trixie main" >"$root/etc/apt/sources.list"
    cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
    log "installing Nix and git in the chroot"
    chroot "$root" /usr/bin/env DEBIAN_FRONTEND=noninteractive sh -c \
      'apt-get update -qq && apt-get install -y -qq --no-install-recommends nix-bin ca-certificates git' >&2
  fi
  mountpoint -q "$root/proc" || mount -t proc proc "$root/proc"
  # Builds need /dev/pts (Nix opens a pseudoterminal for each build). rslave, so
  # that unmounting the chroot's copy never reaches the host's /dev.
  if ! mountpoint -q "$root/dev"; then
    mount --rbind /dev "$root/dev"
    mount --make-rslave "$root/dev"
  fi
  init_state chroot "$root"
  log "chroot: $(chroot "$root" nix --version)"
}

specs=()
case "$only" in
  ""|host) host_nix; specs+=("host") ;;
esac
case "$only" in
  ""|chroot) chroot_nix; specs+=("chroot:$root") ;;
esac
(IFS=,; echo "${specs[*]}")
