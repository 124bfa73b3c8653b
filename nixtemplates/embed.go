// Package nixtemplates holds the Nix code of a bundle. The files are static (pin data
// lives in JSON beside them) except flake.nix, whose nixConfig Nix requires to be
// literal; it is rendered from flake.nix.tmpl with every value escaped.
//
// pin.nix, the value of one pin, is shared by the all-pins bundle (lib.nix reads
// the names and their data) and the one-name bundles of one/ (URL/p/NAME).
package nixtemplates

import "embed"

// FS holds default.nix, lib.nix, pin.nix, the flake templates and one/.
//
//go:embed default.nix lib.nix pin.nix flake.nix.tmpl nixconfig.tmpl one
var FS embed.FS
