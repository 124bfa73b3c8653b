// Package e2e is the end-to-end suite over real Nix installations. For each one
// it builds test packages in that installation's store, serves them as a signed
// binary cache behind a local Cachix (test/fakecachix), publishes their pins with
// the real CLI, deletes the packages from the store, and checks every supported
// Nix command form: the pin must be substituted from the cache and run. It writes
// the compatibility matrix it measured to the test log.
//
// Run it as root with the installations test/nix/setup.sh provisions:
//
//	CPR_NIX=$(bash test/nix/setup.sh | tail -n 1) go test ./test/e2e/ -v -count=1
//
// or, with any Nix on PATH (a multi-user install whose user is trusted, as
// cachix/install-nix-action sets up), just `go test ./test/e2e/`. See TestNix.
package e2e
