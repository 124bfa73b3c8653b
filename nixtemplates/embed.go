// Package nixtemplates holds the Nix code of a bundle. The files are static (pin data
// lives in JSON beside them) except flake.nix, whose nixConfig Nix requires to be
// literal; it is rendered from flake.nix.tmpl with every value escaped.
package nixtemplates

import "embed"

// FS holds default.nix, lib.nix and flake.nix.tmpl.
//
//go:embed default.nix lib.nix flake.nix.tmpl
var FS embed.FS
