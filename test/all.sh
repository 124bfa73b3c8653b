#!/usr/bin/env bash
# Runs every check and test of the project: formatting, vet, staticcheck, actionlint
# and `go test ./...`, including the real-Nix end-to-end suite and the browser test
# of the index page. It provisions Nix first (test/nix/setup.sh, as root) unless
# CPR_NIX names the installations to use, builds the S3 server the S3 tests run
# (test/s3server/install.sh) unless CPR_VERSITYGW names it, and installs
# Chromium as root.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${CPR_NIX:-}" ]; then
  if [ "$(id -u)" = 0 ]; then
    CPR_NIX=$(bash test/nix/setup.sh | tail -n 1)
  elif command -v nix >/dev/null 2>&1; then
    CPR_NIX=host
  fi
fi
export CPR_NIX
echo "Nix installations: ${CPR_NIX:-none}" >&2

# versitygw, the S3 server the S3 tests start on 127.0.0.1 (test/s3server);
# without it those tests skip.
if [ -z "${CPR_VERSITYGW:-}" ]; then
  CPR_VERSITYGW=$(bash test/s3server/install.sh | tail -n 1)
fi
export CPR_VERSITYGW
echo "versitygw: $CPR_VERSITYGW" >&2

# Headless Chromium for the index page's browser test (test/browser), from
# Debian's packages; without it that test skips.
if [ "$(id -u)" = 0 ] && ! command -v chromium >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >&2
fi

unformatted=$(gofmt -l .)
if [ -n "$unformatted" ]; then
  printf 'gofmt would change:\n%s\n' "$unformatted" >&2
  exit 1
fi
go vet ./...
go tool staticcheck ./...
if [ -d .github/workflows ]; then
  go tool actionlint .github/workflows/*.yml $(ls examples/workflows/*.yml 2>/dev/null)
fi
# -race: the publishers and fakes run concurrent requests (8 racing publishers).
# -timeout: the real-Nix suite runs hundreds of Nix commands; go test's default
# 10 minutes is too short on a busy 2-core machine.
go test -race -count=1 -timeout 60m "$@" ./...
