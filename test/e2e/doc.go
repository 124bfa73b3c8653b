// Package e2e is the end-to-end suite over real Nix installations: it builds the
// CLI, publishes a bundle for a local Cachix whose binary cache holds freshly built
// test packages, and checks that every supported Nix command substitutes and runs
// each pin. See e2e_test.go for how to run it.
package e2e
