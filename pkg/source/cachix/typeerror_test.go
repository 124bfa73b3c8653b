package cachix

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// TestPinTypeError: a value of the wrong type names the pin (its place in
// the list, and its name when that is a string), the field, what is there and
// what belongs there, and where it starts; the stream decoder says the same.
func TestPinTypeError(t *testing.T) {
	const sp = `"storePath":"` + decodeStorePath + `"`
	ok := `{"name":"ok","lastRevision":{` + sp + `,"revision":1}}`
	tests := []struct {
		name string
		in   string
		want PinTypeError
	}{
		{
			name: "revision is a string",
			in:   "[\n" + ok + ",\n" + `{"name":"hello.x86_64-linux","lastRevision":{` + sp + `,"revision":"abc"}}]`,
			want: PinTypeError{Index: 1, Name: "hello.x86_64-linux", Field: "lastRevision.revision", Found: `the string "abc"`, Want: "an integer", Line: 3, Column: 121},
		},
		{
			name: "revision is a fraction",
			in:   `[{"name":"a","lastRevision":{"revision":1.5}}]`,
			want: PinTypeError{Name: "a", Field: "lastRevision.revision", Found: "the number 1.5", Want: "an integer", Line: 1, Column: 41},
		},
		{
			name: "revision too large",
			in:   `[{"name":"a","lastRevision":{"revision":99999999999999999999}}]`,
			want: PinTypeError{Name: "a", Field: "lastRevision.revision", Found: "the number 99999999999999999999", Want: "an integer that fits in 64 bits", Line: 1, Column: 41},
		},
		{
			name: "revision is a boolean",
			in:   `[{"name":"a","lastRevision":{"revision":true}}]`,
			want: PinTypeError{Name: "a", Field: "lastRevision.revision", Found: "the boolean true", Want: "an integer", Line: 1, Column: 41},
		},
		{
			name: "artifacts is a string",
			in:   `[` + ok + `,` + ok + `, {"name":"b","lastRevision":{"artifacts":"bin/x"}}]`,
			want: PinTypeError{Index: 2, Name: "b", Field: "lastRevision.artifacts", Found: `the string "bin/x"`, Want: "an array of strings", Line: 1, Column: 2*len(ok) + 45},
		},
		{
			name: "an artifact is a number",
			in:   `[{"name":"b","lastRevision":{"artifacts":["bin/a", 5]}}]`,
			want: PinTypeError{Name: "b", Field: "lastRevision.artifacts[1]", Found: "the number 5", Want: "a string", Line: 1, Column: 52},
		},
		{
			name: "an artifact is an array",
			in:   `[{"name":"b","lastRevision":{"artifacts":[["bin/a"]]}}]`,
			want: PinTypeError{Name: "b", Field: "lastRevision.artifacts[0]", Found: "an array", Want: "a string", Line: 1, Column: 43},
		},
		{
			name: "name is a number",
			in:   `[{"name":5,"lastRevision":{` + sp + `}}]`,
			want: PinTypeError{Field: "name", Found: "the number 5", Want: "a string", Line: 1, Column: 10},
		},
		{
			name: "name is an object",
			in:   `[{"name":{"first":"a"}}]`,
			want: PinTypeError{Field: "name", Found: "an object", Want: "a string", Line: 1, Column: 10},
		},
		{
			name: "lastRevision is a string, keys spelled otherwise",
			in:   `[{"NAME":"a\"b","LastRevision":"` + decodeStorePath + `"}]`,
			want: PinTypeError{Name: `a"b`, Field: "LastRevision", Found: `the string "` + decodeStorePath + `"`, Want: "an object", Line: 1, Column: 32},
		},
		{
			name: "createdOn is a number",
			in:   `[{"name":"a","createdOn":1700000000}]`,
			want: PinTypeError{Name: "a", Field: "createdOn", Found: "the number 1700000000", Want: "a string", Line: 1, Column: 26},
		},
		{
			name: "a pin is a string",
			in:   `[` + ok + `, "hello"]`,
			want: PinTypeError{Index: 1, Found: `the string "hello"`, Want: "an object", Line: 1, Column: len(ok) + 4},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodePins([]byte(tt.in))
			var got *PinTypeError
			if !errors.As(err, &got) {
				t.Fatalf("error %v, want a *PinTypeError", err)
			}
			if diff := cmp.Diff(tt.want, *got, cmpopts.IgnoreFields(PinTypeError{}, "Err")); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			var typ *json.UnmarshalTypeError
			if !errors.As(err, &typ) {
				t.Errorf("error %v does not wrap a *json.UnmarshalTypeError", err)
			}
			_, streamErr := readPinList(bytes.NewReader([]byte(tt.in)), DefaultMaxBodySize, -1)
			if streamErr == nil || streamErr.Error() != err.Error() {
				t.Errorf("stream decoder: %v, want %v", streamErr, err)
			}
		})
	}
}

func TestPinTypeErrorMessage(t *testing.T) {
	tests := []struct {
		err  PinTypeError
		want string
	}{
		{
			PinTypeError{Index: 1, Name: "hello", Field: "lastRevision.revision", Found: `the string "abc"`, Want: "an integer", Line: 3, Column: 7},
			`pin "hello" (.[1] in the list, line 3, column 7): lastRevision.revision is the string "abc", expected an integer`,
		},
		{
			PinTypeError{Index: 0, Field: "name", Found: "the number 5", Want: "a string", Line: 1, Column: 10},
			`pin .[0] (line 1, column 10): name is the number 5, expected a string`,
		},
		{
			PinTypeError{Index: 4, Found: "an array", Want: "an object", Line: 2, Column: 1},
			`pin .[4] (line 2, column 1) is an array, expected an object`,
		},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("got  %s\nwant %s", got, tt.want)
		}
	}
}
