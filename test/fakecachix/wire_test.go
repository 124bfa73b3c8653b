package fakecachix_test

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kwbauson/create-pin-refs/test/fakecachix"
)

// keys returns the JSON object keys found at each depth of v, as
// "parent.key", so the wire's field names can be checked against the
// list in DESIGN.md without the client's types.
func keys(prefix string, v any, out map[string]bool) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			out[prefix+k] = true
			keys(prefix+k+".", x, out)
		}
	case []any:
		for _, x := range v {
			keys(prefix, x, out)
		}
	}
}

func TestWireFieldNames(t *testing.T) {
	s := fakecachix.Start(t, fakecachix.Options{Caches: []fakecachix.Cache{{Name: "demo", Pins: pins, PublicSigningKeys: []string{"demo-1:AAAA"}}}})
	tests := []struct {
		path string
		want []string
	}{
		{"/api/v1/cache/demo/pin", []string{"name", "createdOn", "lastRevision", "lastRevision.storePath", "lastRevision.createdOn", "lastRevision.revision", "lastRevision.artifacts"}},
		{"/api/v1/cache/demo", []string{"name", "uri", "isPublic", "publicSigningKeys", "githubUsername", "permission", "preferredCompressionMethod"}},
	}
	for _, tt := range tests {
		resp, err := http.Get(s.URL() + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var v any
		if err := json.Unmarshal(body, &v); err != nil {
			t.Fatalf("%s: %v:\n%s", tt.path, err, body)
		}
		got := map[string]bool{}
		keys("", v, got)
		var names []string
		for k := range got {
			names = append(names, k)
		}
		slices.Sort(names)
		slices.Sort(tt.want)
		if diff := cmp.Diff(tt.want, names); diff != "" {
			t.Errorf("%s: field names (-want +got):\n%s", tt.path, diff)
		}
	}
	// A pin without artifacts has [], as Cachix sends, not null.
	resp, err := http.Get(s.URL() + "/api/v1/cache/demo/pin")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list []struct {
		LastRevision struct {
			Artifacts json.RawMessage `json:"artifacts"`
		} `json:"lastRevision"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil || len(list) != 2 || string(list[1].LastRevision.Artifacts) != "[]" {
		t.Errorf("artifacts of a pin without any: %+v, %v", list, err)
	}
}
