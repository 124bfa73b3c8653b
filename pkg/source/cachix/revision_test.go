package cachix

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestNoLastRevision: a pin whose lastRevision is absent or null is marked,
// by both decoders; one that is there, even empty, is not.
func TestNoLastRevision(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []bool // NoLastRevision of each pin
	}{
		{name: "absent", in: `[{"name":"a","createdOn":"2025-01-01T00:00:00Z"}]`, want: []bool{true}},
		{name: "null", in: `[{"name":"a","lastRevision":null}]`, want: []bool{true}},
		{name: "key spelled otherwise", in: `[{"name":"a","LastRevision":null}]`, want: []bool{true}},
		{name: "among valid pins", in: "[" + decodePin(`"a"`) + `,{"name":"b"},` + decodePin(`"c"`) + "]", want: []bool{false, true, false}},
		{name: "empty object", in: `[{"name":"a","lastRevision":{}}]`, want: []bool{false}},
		{name: "empty store path", in: `[{"name":"a","lastRevision":{"storePath":"","revision":2}}]`, want: []bool{false}},
		{name: "null store path", in: `[{"name":"a","lastRevision":{"storePath":null}}]`, want: []bool{false}},
		{name: "valid", in: "[" + decodePin(`"a"`) + "]", want: []bool{false}},
		{name: "invalid UTF-8 elsewhere", in: "[{\"name\":\"a\xff\"},{\"name\":\"b\",\"lastRevision\":null}]", want: []bool{true, true}},
	}
	marks := func(pins []Pin) []bool {
		out := make([]bool, len(pins))
		for i, p := range pins {
			out[i] = p.NoLastRevision
		}
		return out
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			whole, err := decodePins([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, marks(whole)); diff != "" {
				t.Errorf("decodePins (-want +got):\n%s", diff)
			}
			for _, chunk := range []int{1, 16, streamChunk} {
				stream, _, err := streamPins(bytes.NewReader([]byte(tt.in)), DefaultMaxBodySize, -1, chunk)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tt.want, marks(stream)); diff != "" {
					t.Errorf("stream, chunk %d (-want +got):\n%s", chunk, diff)
				}
			}
		})
	}
}
