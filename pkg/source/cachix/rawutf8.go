package cachix

import (
	"encoding/json"
	"unicode/utf8"
)

// keepInvalidUTF8 puts back, undecoded, the name, store path and artifacts
// whose JSON text is not valid UTF-8. encoding/json replaced each bad byte
// with U+FFFD, which would publish a different, valid-looking name; kept as
// they came, they fail the pin's own checks, which name the pin and the field
// (and honour --on-invalid=skip).
func keepInvalidUTF8(data []byte, pins []Pin) {
	if utf8.Valid(data) {
		return
	}
	var raw []struct {
		Name         json.RawMessage `json:"name"`
		LastRevision struct {
			StorePath json.RawMessage   `json:"storePath"`
			Artifacts []json.RawMessage `json:"artifacts"`
		} `json:"lastRevision"`
	}
	if json.Unmarshal(data, &raw) != nil || len(raw) != len(pins) {
		return
	}
	for i, r := range raw {
		p := &pins[i]
		keep(&p.Name, r.Name)
		keep(&p.LastRevision.StorePath, r.LastRevision.StorePath)
		if len(r.LastRevision.Artifacts) == len(p.LastRevision.Artifacts) {
			for j, a := range r.LastRevision.Artifacts {
				keep(&p.LastRevision.Artifacts[j], a)
			}
		}
	}
}

// keep sets *field to the text of the JSON string raw, escapes undecoded, when
// that text is not valid UTF-8.
func keep(field *string, raw json.RawMessage) {
	if len(raw) >= 2 && raw[0] == '"' && !utf8.Valid(raw) {
		*field = string(raw[1 : len(raw)-1])
	}
}
