#!/usr/bin/env bash
# Installs versitygw, the S3 server the tests start on 127.0.0.1, idempotently,
# by building it from source with `go install` (about a minute, 84 MB).
# Prints the binary's path on its last line, for CPR_VERSITYGW.
#
# Environment:
#   CPR_TOOLS_CACHE  where tools are kept (default /var/cache/create-pin-refs/tools
#                    as root, else ~/.cache/create-pin-refs/tools)
# The version and the default folder are also in test/s3server/s3server.go.
set -euo pipefail

version=v1.8.0
if [ "$(id -u)" = 0 ]; then
  default=/var/cache/create-pin-refs/tools
else
  default=${XDG_CACHE_HOME:-$HOME/.cache}/create-pin-refs/tools
fi
dir=${CPR_TOOLS_CACHE:-$default}/versitygw-$version
bin=$dir/versitygw

if [ ! -x "$bin" ]; then
  printf 'install: building versitygw %s into %s\n' "$version" "$dir" >&2
  rm -rf "$dir.partial"
  mkdir -p "$dir.partial"
  # Outside the repository, so that its go.mod plays no part.
  (cd "$dir.partial" && GOBIN=$dir.partial GOFLAGS=-trimpath \
    go install "github.com/versity/versitygw/cmd/versitygw@$version" >&2)
  rm -rf "$dir"
  mv "$dir.partial" "$dir"
fi
echo "$bin"
