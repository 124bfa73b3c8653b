package pinset

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"

	"github.com/kwbauson/create-pin-refs/pkg/bundle"
	"github.com/kwbauson/create-pin-refs/pkg/source/cachix"
)

// originalDefault is the original tool's default.nix, rewritten from its
// description: pins.nix holds every pin, and each name yields its value for the
// current system when it has one, else the value itself.
const originalDefault = `{
  system ? builtins.currentSystem,
  storePath ? builtins.storePath,
}:
builtins.mapAttrs (_: value: value.${system} or value) (import ./pins.nix { inherit storePath; })
`

// OriginalFiles returns the original tool's files for raw, path → content: a
// pins.nix with one line `"part"."part" = storePath /nix/store/…;` per pin, the
// name split on every dot, and its default.nix. Parts are quoted with
// bundle.NixString (the original did not quote; synthetic names need none, and
// quoting keeps a hostile name from changing what is measured).
func OriginalFiles(raw []cachix.Pin) map[string][]byte {
	var buf bytes.Buffer
	buf.WriteString("{ storePath }:\n{\n")
	for _, p := range raw {
		buf.WriteString("  ")
		for i, part := range strings.Split(p.Name, ".") {
			if i > 0 {
				buf.WriteByte('.')
			}
			buf.WriteString(bundle.NixString(part))
		}
		buf.WriteString(" = storePath ")
		buf.WriteString(p.LastRevision.StorePath) // a path literal, as in the original
		buf.WriteString(";\n")
	}
	buf.WriteString("}\n")
	return map[string][]byte{
		"default.nix": []byte(originalDefault),
		"pins.nix":    buf.Bytes(),
	}
}

// WriteOriginal writes OriginalFiles(raw) under dir.
func WriteOriginal(dir string, raw []cachix.Pin) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for name, data := range OriginalFiles(raw) {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}
