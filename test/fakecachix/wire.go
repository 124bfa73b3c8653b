package fakecachix

import (
	"bytes"
	"embed"
	"encoding/json"
	"text/template"
)

// The API's answers are written from templates of the wire text Cachix
// sends (field names as in DESIGN.md), not by marshalling pkg/source/cachix's
// types: a wrong JSON tag in the client then fails its tests.
//
//go:embed testdata/*.json.tmpl
var wireFiles embed.FS

var wire = template.Must(template.New("").Funcs(template.FuncMap{
	"json": func(v any) (string, error) {
		b, err := json.Marshal(v)
		return string(b), err
	},
	// list writes a string list, [] for none, as Cachix does.
	"list": func(v []string) (string, error) {
		if v == nil {
			v = []string{}
		}
		b, err := json.Marshal(v)
		return string(b), err
	},
}).ParseFS(wireFiles, "testdata/*.json.tmpl"))

// cacheWire is the data of GET /api/v1/cache/NAME.
type cacheWire struct {
	Name, URI                  string
	IsPublic                   bool
	PublicSigningKeys          []string
	GithubUsername, Permission string
	PreferredCompressionMethod string
}

func render(name string, data any) ([]byte, error) {
	var b bytes.Buffer
	if err := wire.ExecuteTemplate(&b, name, data); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
