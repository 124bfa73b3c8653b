package cachix

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// ReadPinsFile reads pins saved from GET /api/v1/cache/NAME/pin (e.g. with
// curl), so a bundle can be made without network access.
func ReadPinsFile(path string) ([]Pin, error) {
	f, size, err := openLimited(path, DefaultMaxBodySize)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	pins, err := readPinList(f, DefaultMaxBodySize, size)
	var re *readError
	var te *PinTypeError
	switch {
	case errors.As(err, &te):
		return nil, fmt.Errorf("pins file %s: %w; correct it in the file, or save the list again from GET /api/v1/cache/NAME/pin", path, err)
	case errors.As(err, &re):
		return nil, fmt.Errorf("reading %s: %w", path, re.err)
	case errors.Is(err, ErrTooLarge):
		return nil, tooLarge(path, DefaultMaxBodySize)
	case err != nil:
		return nil, fmt.Errorf("pins file %s: %w", path, err)
	}
	return pins, nil
}

// ReadCacheInfoFile reads a saved GET /api/v1/cache/NAME answer.
func ReadCacheInfoFile(path string) (*CacheInfo, error) {
	data, err := readFileLimited(path, DefaultMaxBodySize)
	if err != nil {
		return nil, err
	}
	info, err := decodeCacheInfo(data)
	if err != nil {
		return nil, fmt.Errorf("cache info file %s: %w", path, err)
	}
	return info, nil
}

func readFileLimited(path string, limit int64) ([]byte, error) {
	f, size, err := openLimited(path, limit)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data := make([]byte, 0, max(size, 0)+1) // +1: the read that finds the end
	buf := bytes.NewBuffer(data)
	if _, err := buf.ReadFrom(io.LimitReader(f, limit+1)); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if int64(buf.Len()) > limit {
		return nil, tooLarge(path, limit)
	}
	return buf.Bytes(), nil
}

// openLimited opens path and returns its size, or -1 when it is not a regular
// file (a pipe); it fails fast on a regular file over limit, and readers
// must still stop at limit for the rest.
func openLimited(path string, limit int64) (*os.File, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err // *PathError names the file
	}
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return f, -1, nil
	}
	if st.Size() > limit {
		f.Close()
		return nil, 0, tooLarge(path, limit)
	}
	return f, st.Size(), nil
}

func tooLarge(path string, limit int64) error {
	return fmt.Errorf("reading %s: file is over the %d-byte limit: %w", path, limit, ErrTooLarge)
}

// utf8BOM is dropped because editors on some systems add it and
// encoding/json rejects it.
const utf8BOM = "\xef\xbb\xbf"

// decodePins parses a pin list. It insists on an array: a 200 answer holding
// {"error": …} (from a proxy, say) or null must not pass as "no pins".
func decodePins(data []byte) ([]Pin, error) {
	data = bytes.TrimPrefix(data, []byte(utf8BOM))
	if err := expectJSON(data, '[', "a JSON array of pins"); err != nil {
		return nil, err
	}
	pins, err := unmarshalPins(data)
	if err != nil {
		var typ *json.UnmarshalTypeError
		if errors.As(err, &typ) {
			if e := pinTypeError(data, typ); e != nil {
				return nil, e
			}
		}
		return nil, jsonError(data, err)
	}
	keepInvalidUTF8(data, pins)
	markNoRevision(data, pins)
	for i := range pins {
		if len(pins[i].LastRevision.Artifacts) == 0 {
			pins[i].LastRevision.Artifacts = nil // absent, null or [] alike
		}
	}
	return pins, nil
}

// decodeCacheInfo parses a cache description.
func decodeCacheInfo(data []byte) (*CacheInfo, error) {
	data = bytes.TrimPrefix(data, []byte(utf8BOM))
	if err := expectJSON(data, '{', "a JSON object describing the cache"); err != nil {
		return nil, err
	}
	var info CacheInfo
	if err := json.Unmarshal(data, &info); err != nil {
		return nil, jsonError(data, err)
	}
	if info.Name == "" && info.URI == "" {
		if msg := errorField(data); msg != "" {
			return nil, fmt.Errorf("expected a JSON object describing the cache, got an error object: %s", msg)
		}
		return nil, errors.New("expected a JSON object describing the cache, got one without name or uri")
	}
	return &info, nil
}

// expectJSON checks the first token so the error says what came instead of
// a Go type mismatch.
func expectJSON(data []byte, open byte, want string) error {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return fmt.Errorf("empty, expected %s", want)
	}
	if trimmed[0] == open {
		return nil
	}
	var what string
	switch trimmed[0] {
	case '{':
		if msg := errorField(trimmed); msg != "" {
			return fmt.Errorf("expected %s, got an error object: %s", want, msg)
		}
		what = "an object"
	case '[':
		what = "an array"
	case '"':
		what = "a string"
	case 'n':
		what = "null"
	case 't', 'f':
		what = "a boolean"
	default:
		if trimmed[0] == '-' || trimmed[0] >= '0' && trimmed[0] <= '9' {
			what = "a number"
		} else {
			return fmt.Errorf("expected %s, got something that is not JSON: %q", want, snippet(trimmed[:min(len(trimmed), 60)]))
		}
	}
	return fmt.Errorf("expected %s, got %s", want, what)
}

// errorField returns the "error" or "message" string of a JSON object.
func errorField(data []byte) string {
	var obj struct {
		Error   any `json:"error"`
		Message any `json:"message"`
	}
	if json.Unmarshal(data, &obj) != nil {
		return ""
	}
	for _, v := range []any{obj.Error, obj.Message} {
		if s, ok := v.(string); ok && strings.TrimSpace(s) != "" {
			return snippet([]byte(s))
		}
	}
	return ""
}

// jsonError adds a line and column to encoding/json's byte offsets, which
// is what a person opening the file needs.
func jsonError(data []byte, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		if syn.Offset >= int64(len(data)) && strings.Contains(syn.Error(), "end of JSON input") {
			return fmt.Errorf("truncated JSON (%d bytes): %w", len(data), err)
		}
		line, col := position(data, syn.Offset)
		return fmt.Errorf("invalid JSON at line %d, column %d (byte %d): %w", line, col, syn.Offset, err)
	case errors.As(err, &typ):
		line, col := position(data, typ.Offset)
		return fmt.Errorf("unexpected JSON type at line %d, column %d (byte %d): %w", line, col, typ.Offset, err)
	}
	return fmt.Errorf("invalid JSON: %w", err)
}

// position gives the 1-based line and column of the byte before offset
// (encoding/json reports offsets just past the offending byte).
func position(data []byte, offset int64) (line, col int) {
	i := int(min(max(offset-1, 0), int64(len(data))))
	before := data[:i]
	line = bytes.Count(before, []byte("\n")) + 1
	col = i - (bytes.LastIndexByte(before, '\n') + 1) + 1
	return line, col
}
