package cachix

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestUnmarshalPinsMatchesStd checks the fast decoder against encoding/json on
// answers that exercise what a JSON decoder can get wrong: escapes, invalid
// UTF-8, unknown fields, nulls, key case, duplicates, numbers and bad input.
func TestUnmarshalPinsMatchesStd(t *testing.T) {
	inputs := decodeInputs()
	for i, in := range inputs {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			var want []Pin
			wantErr := json.Unmarshal([]byte(in), &want)
			got, err := unmarshalPins([]byte(in))
			checkSameDecode(t, "encoding/json", want, wantErr, got, err)
		})
	}
	// A big answer, as the benchmarks send it.
	big := bigAnswer(2000)
	var want []Pin
	if err := json.Unmarshal([]byte(big), &want); err != nil {
		t.Fatal(err)
	}
	got, err := unmarshalPins([]byte(big))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("big answer differs (-want +got):\n%s", diff)
	}
}

const decodeStorePath = "/nix/store/0c9ipq2ysgsyfqsk2hcn2mc3r9r1fwm1-hello"

func decodePin(name string) string {
	return fmt.Sprintf(`{"name":%s,"createdOn":"2025-01-02T03:04:05Z","lastRevision":{"storePath":%q,"revision":3,"artifacts":["bin/hello"]}}`, name, decodeStorePath)
}

// decodeInputs exercise what a JSON decoder can get wrong: escapes, invalid
// UTF-8, unknown fields, nulls, key case, duplicates, numbers and bad input.
func decodeInputs() []string {
	const sp = decodeStorePath
	pin := decodePin
	return []string{
		`[]`, ` [ ] `, "[\n" + pin(`"hello.x86_64-linux"`) + "\n]\n",
		"[" + pin(`"a\"b\\c\/d\u00e9\ud83d\ude80\n\t"`) + "," + pin(`"émoji-🚀"`) + "]",
		"[" + pin(`"ends in a backslash\\"`) + " , " + pin(`"\\\"{[quoted]}\\"`) + "]",
		"[" + pin("\"bad\xff\xfeutf8\"") + "]",
		"[" + pin(`"\ud800 lone surrogate"`) + "]",
		"[" + pin(`"<script>&amp;"`) + "]",
		`[{"name":"x","lastRevision":{"storePath":"` + sp + `","artifacts":null,"revision":1}}]`,
		`[{"name":"x","lastRevision":null}]`,
		"[" + pin(`"a"`) + `,{"name":"x","createdOn":"2025-01-01T00:00:00Z"},{"name":"y","lastRevision":{}}]`,
		`[{"name":"x","LASTREVISION":null,"lastRevision":{"revision":2}}]`,
		`[{"NAME":"x","LastRevision":{"StorePath":"` + sp + `"}}]`,
		`[{"name":"x","name":"y","extra":{"a":[1,2,{"b":null}],"c":"d"},"lastRevision":{"storePath":"` + sp + `","more":true}}]`,
		`[{"name":"x","lastRevision":{"storePath":"` + sp + `","revision":1e2}}]`,
		`[{"name":"x","lastRevision":{"storePath":"` + sp + `","revision":1.5}}]`,
		`[{"name":"x","lastRevision":{"storePath":"` + sp + `","revision":"3"}}]`,
		`[{"name":"x","lastRevision":{"storePath":"` + sp + `","revision":-7}}]`,
		`[{"name":5}]`, `[null]`, `[{"name":"x"},]`, `[{"name":"x"}] [1]`, `[{"name":"x"}] x`, `[{"name":"x"`,
		`[{"name":"x","lastRevision":{"artifacts":["a",null,"b"]}}]`,
		`{"error":"nope"}`, `null`, ``, "\xef\xbb\xbf[" + pin(`"bom"`) + "]", `[{"name":"x"}{"name":"y"}]`,
		`[{"name":"x"},,{"name":"y"}]`, `[{"name":"x"}]]`, `[{"name":"x"]`, `[{"a":"}"}]`,
	}
}

// bigAnswer is a pin list of n pins, as the benchmarks send it.
func bigAnswer(n int) string {
	var sb strings.Builder
	sb.WriteString("[")
	for i := range n {
		if i > 0 {
			sb.WriteString(",")
		}
		sb.WriteString(decodePin(fmt.Sprintf(`"tool-%d.x86_64-linux"`, i)))
	}
	sb.WriteString("]")
	return sb.String()
}
