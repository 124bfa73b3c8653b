// Package e2e is the end-to-end suite over real Nix installations. For each one
// it builds test packages in that installation's store, serves them as a signed
// binary cache behind a local Cachix (test/fakecachix), publishes their pins with
// the real CLI, deletes the packages from the store, and checks every supported
// Nix command form: the pin must be substituted from the cache and run. It writes
// the compatibility matrix it measured to the test log.
//
// The pins are published the ways users publish them. The site the URL forms
// read is the artifact of --mode pages, unpacked and served, as GitHub Pages
// serves it (and --mode dir must write the same site). The repository the
// git+file forms read is the bare repository of a local GitHub
// (test/fakegithub) that --mode branch committed to through the Git Data API;
// publishing the same pins again must write nothing.
//
// Run it as root with the installations test/nix/setup.sh provisions:
//
//	CPR_NIX=$(bash test/nix/setup.sh | tail -n 1) go test ./test/e2e/ -v -count=1
//
// or, with any Nix on PATH (a multi-user install whose user is trusted, as
// cachix/install-nix-action sets up), just `go test ./test/e2e/`. See TestNix.
package e2e
