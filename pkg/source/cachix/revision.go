package cachix

import (
	"encoding/json"
	"slices"
)

// rawRevision is a pin's lastRevision as it came, to tell an absent or null
// one (Cachix lists a name no store path was ever pinned under) from one
// that is there but empty; decoded into a Revision, they are alike.
type rawRevision struct {
	LastRevision json.RawMessage `json:"lastRevision"`
}

func (r rawRevision) none() bool {
	return len(r.LastRevision) == 0 || string(r.LastRevision) == "null"
}

// noRevision tells whether obj, a pin's JSON, has no lastRevision. Only a
// pin without a store path is looked at again, so a list of valid pins
// costs nothing more.
func noRevision(obj []byte) bool {
	var r rawRevision
	return json.Unmarshal(obj, &r) == nil && r.none()
}

// markNoRevision sets NoLastRevision on the pins of data, a pin list, that
// have no lastRevision.
func markNoRevision(data []byte, pins []Pin) {
	if !slices.ContainsFunc(pins, func(p Pin) bool { return p.LastRevision.StorePath == "" }) {
		return
	}
	var raw []rawRevision
	if json.Unmarshal(data, &raw) != nil || len(raw) != len(pins) {
		return
	}
	for i := range pins {
		if pins[i].LastRevision.StorePath == "" {
			pins[i].NoLastRevision = raw[i].none()
		}
	}
}
