package cachix

import (
	"encoding/json"

	fastjson "github.com/segmentio/encoding/json"
)

// unmarshalPins decodes a pin list. A 100,000-pin answer is some 25 MB, so the
// decoder is chosen by measurement (bench/pinset): segmentio's is about four
// times faster than encoding/json, and its strings point into data rather than
// being copied (data is never written to afterwards). Its answers match
// encoding/json's (TestUnmarshalPinsMatchesStd); on an error, encoding/json
// decodes again so that the message and offsets are the ones jsonError knows.
func unmarshalPins(data []byte) ([]Pin, error) {
	var pins []Pin
	rest, err := fastjson.Parse(data, &pins, fastjson.DontCopyString)
	if err == nil && isSpace(rest) {
		return pins, nil
	}
	pins = nil
	if err := json.Unmarshal(data, &pins); err != nil {
		return nil, err
	}
	return pins, nil
}

func isSpace(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return false
		}
	}
	return true
}
