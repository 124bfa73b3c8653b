#!/usr/bin/env bash
# Runs the README's test command as a machine where it never ran would: a clean
# clone of the committed HEAD, `CI=true bash .ci/run` in it, with
#   - the host's /nix moved aside (and put back afterwards), so the host's Nix
#     starts with no store, no state folder and no database;
#   - a new, empty CPR_NIX_CACHE, so the trixie chroot is made from nothing;
#   - new, empty Go module and build caches, so every module and tool comes
#     from the module proxy;
#   - a new, empty CPR_TOOLS_CACHE and no CPR_VERSITYGW, so the S3 server is
#     built from nothing.
# It prints the run's time and exit code last. Run as root; takes the whole
# suite's time plus provisioning (about 5 minutes more).
#
#   bash test/fresh.sh            # the committed HEAD of this checkout
#   CPR_FRESH_KEEP=1 bash test/fresh.sh   # keep the scratch folder afterwards
#
# Uncommitted changes are not in the clone: commit first. The host's Debian
# packages (nix-bin, debootstrap, chromium) stay installed; setup.sh installs
# what is missing, and a run without them is what .ci/run's own provisioning
# covers.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)

log() { printf 'fresh: %s\n' "$*" >&2; }

if [ "$(id -u)" != 0 ]; then
  log "must run as root (it moves /nix and makes a chroot)"
  exit 1
fi
if mountpoint -q /nix; then
  log "/nix is a mount point; this script only moves a plain folder aside"
  exit 1
fi
if pgrep -x nix-daemon >/dev/null; then
  log "a nix-daemon is running; stop it first (it holds the store that would be moved)"
  exit 1
fi
if [ -n "$(git -C "$repo" status --porcelain --untracked-files=no)" ]; then
  log "warning: uncommitted changes are not tested (the clone takes HEAD)"
fi

scratch=$(mktemp -d /var/tmp/cpr-fresh.XXXXXX)
aside=
restore() {
  local rc=$?
  # The chroot keeps /proc and /dev mounted: unmount before removing, and
  # remove within one file system only, so nothing reaches the host's /dev.
  for m in "$scratch/nix-cache/trixie/dev" "$scratch/nix-cache/trixie/proc"; do
    if mountpoint -q "$m"; then umount -R "$m" || umount -lR "$m" || true; fi
  done
  if [ -n "$aside" ]; then
    rm -rf --one-file-system /nix
    mv "$aside" /nix
    log "put the host's /nix back"
  fi
  if [ -z "${CPR_FRESH_KEEP:-}" ]; then
    rm -rf --one-file-system "$scratch"
  else
    log "kept $scratch"
  fi
  exit "$rc"
}
trap restore EXIT
trap 'exit 130' INT TERM

if [ -e /nix ]; then
  aside=/nix.cpr-fresh-aside.$$
  mv /nix "$aside"
  log "moved the host's /nix to $aside"
fi

git clone --quiet --no-local "$repo" "$scratch/clone"
log "clone of $(git -C "$scratch/clone" rev-parse --short HEAD) in $scratch/clone"
mkdir -p "$scratch/go"
start=$(date +%s)
set +e
(
  cd "$scratch/clone"
  unset CPR_VERSITYGW
  CI=true \
    CPR_NIX_CACHE="$scratch/nix-cache" CPR_TOOLS_CACHE="$scratch/tools" \
    GOPATH="$scratch/go" GOMODCACHE="$scratch/go/mod" GOCACHE="$scratch/go/cache" \
    bash .ci/run
)
rc=$?
set -e
took=$(($(date +%s) - start))
log "CI=true bash .ci/run: exit $rc in $((took / 60))m$((took % 60))s"
exit "$rc"
