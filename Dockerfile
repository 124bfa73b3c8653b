# The image of the create-pin-refs container action: one static Go binary on a
# distroless base that has CA certificates and nothing else (no shell).
#
#   docker build --build-arg VERSION=v1.2.3 --build-arg REVISION=$(git rev-parse HEAD) -t create-pin-refs .
#
# VERSION and REVISION are what --version says: the context has no .git, so Go
# records no commit of its own.
#
# The base images are pinned by tag. For reproducible releases pin them by digest
# too (FROM golang:1.26-bookworm@sha256:…), e.g. with Dependabot's docker updates,
# which keep the tag and refresh the digest.
#
# test/action checks the build flags below and builds the binary with exactly
# those flags, so keep the `go build` command on one line.

# The builder runs on the build machine's platform and cross-compiles for the
# target one (no emulation; CGO is off).
FROM --platform=$BUILDPLATFORM golang:1.26-bookworm AS build
ARG TARGETOS
ARG TARGETARCH
ARG VERSION=dev
ARG REVISION=
WORKDIR /src
# Modules first: this layer is reused until go.mod or go.sum change.
COPY go.mod go.sum ./
RUN go mod download
COPY main.go ./
COPY nixtemplates/ nixtemplates/
COPY pkg/ pkg/
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH go build -trimpath -ldflags "-s -w -X main.version=${VERSION} -X main.revision=${REVISION}" -o /out/create-pin-refs .

# distroless/static: CA certificates (/etc/ssl/certs/ca-certificates.crt), tzdata
# and /etc/passwd, about 2 MB.
FROM gcr.io/distroless/static-debian12
ARG VERSION=dev
# The repository has no LICENSE file yet: set the SPDX id here when it gets one.
LABEL org.opencontainers.image.title="create-pin-refs" \
      org.opencontainers.image.description="Publish a Cachix cache's pins as a tiny Nix flake (GitHub Pages or a branch) that nix run evaluates in milliseconds" \
      org.opencontainers.image.source="https://github.com/kwbauson/create-pin-refs" \
      org.opencontainers.image.licenses="NOASSERTION" \
      org.opencontainers.image.version="${VERSION}"
COPY --from=build /out/create-pin-refs /create-pin-refs
# No USER line, on purpose: GitHub runs container actions as root and mounts the
# workspace and its file-command files owned by the runner, so a non-root user
# could not write the site, GITHUB_OUTPUT or the job summary. The image's default
# user (root for this base) is what Actions expects.
ENTRYPOINT ["/create-pin-refs"]
