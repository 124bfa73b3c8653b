package cachix

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// PinTypeError is a value in a pin list whose JSON type is not the one
// Cachix sends. It names the pin, so that the one to fix can be found among
// thousands, and the field within it.
type PinTypeError struct {
	// Index is the pin's place in the list, from 0 (jq's .[Index]).
	Index int
	// Name is the pin's name; "" when it is not a string.
	Name string
	// Field is the path of the value inside the pin, as it is spelled in
	// the text: "lastRevision.revision", "lastRevision.artifacts[1]"; "" for
	// a pin that is not an object.
	Field string
	// Found is what the value is (`the string "abc"`, "an object"); Want
	// what it should be ("an integer").
	Found, Want string
	// Line and Column (from 1) are where the value starts.
	Line, Column int
	Err          *json.UnmarshalTypeError
}

func (e *PinTypeError) Error() string {
	var b strings.Builder
	b.WriteString("pin ")
	if e.Name != "" {
		fmt.Fprintf(&b, "%q (.[%d] in the list, ", e.Name, e.Index)
	} else {
		fmt.Fprintf(&b, ".[%d] (", e.Index)
	}
	fmt.Fprintf(&b, "line %d, column %d)", e.Line, e.Column)
	if e.Field == "" {
		fmt.Fprintf(&b, " is %s, expected %s", e.Found, e.Want)
	} else {
		fmt.Fprintf(&b, ": %s is %s, expected %s", e.Field, e.Found, e.Want)
	}
	return b.String()
}

func (e *PinTypeError) Unwrap() error { return e.Err }

// pinTypeError turns typ, the error encoding/json gave decoding data (a pin
// list, valid JSON), into a *PinTypeError; nil when the value it is about
// cannot be found.
func pinTypeError(data []byte, typ *json.UnmarshalTypeError) *PinTypeError {
	loc, ok := locate(data, typ.Offset)
	if !ok {
		return nil
	}
	raw := data[loc.start:typ.Offset]
	line, col := position(data, loc.start+1)
	return &PinTypeError{
		Index: loc.index, Name: pinName(data[loc.pinStart:]), Field: loc.path,
		Found: describeValue(raw), Want: describeType(typ.Type, raw),
		Line: line, Column: col, Err: typ,
	}
}

// location is where a value is in a pin list.
type location struct {
	index           int    // the pin's place in the list
	pinStart, start int64  // where the pin and the value start
	path            string // the value's path inside the pin
}

// frame is an array or object being read by locate: the place or the key of
// its current value.
type frame struct {
	array   bool
	n       int
	key     string
	wantKey bool
}

// locate finds the value that ends at end (encoding/json's offset in a type
// error: just past a literal, or just past the bracket that opens an object
// or array) by reading the tokens of data, a JSON array, up to it. It runs
// only for an error, so it favours simple over fast.
func locate(data []byte, end int64) (location, bool) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var stack []frame
	var loc location
	for {
		before := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return location{}, false // the end, and not found
		}
		after := dec.InputOffset()
		top := len(stack) - 1
		if top >= 0 && stack[top].wantKey {
			if key, ok := tok.(string); ok {
				stack[top].key, stack[top].wantKey = key, false
				continue
			}
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:top]
			next(stack)
			continue
		}
		// A value starts here, after the separators Token read.
		text := data[before:after]
		start := before + int64(len(text)-len(bytes.TrimLeft(text, " \t\r\n,:")))
		if top == 0 {
			loc.index, loc.pinStart = stack[0].n, start
		}
		if after == end {
			if top < 0 {
				return location{}, false // the list itself
			}
			loc.start, loc.path = start, path(stack[1:])
			return loc, true
		}
		if d, ok := tok.(json.Delim); ok {
			stack = append(stack, frame{array: d == '[', wantKey: d == '{'})
			continue
		}
		next(stack)
	}
}

// next moves the innermost array or object past its current value.
func next(stack []frame) {
	if len(stack) == 0 {
		return
	}
	f := &stack[len(stack)-1]
	if f.array {
		f.n++
	} else {
		f.wantKey = true
	}
}

// path spells the current values of stack as jq does, without the leading
// dot: lastRevision.artifacts[1], or ["odd key"].
func path(stack []frame) string {
	var b strings.Builder
	for _, f := range stack {
		switch {
		case f.array:
			fmt.Fprintf(&b, "[%d]", f.n)
		case isIdentifier(f.key):
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(f.key)
		default:
			fmt.Fprintf(&b, "[%s]", strconv.Quote(f.key))
		}
	}
	return b.String()
}

func isIdentifier(s string) bool {
	for i, c := range s {
		if !(c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && '0' <= c && c <= '9') {
			return false
		}
	}
	return s != ""
}

// pinName is the name of the pin whose JSON starts data, found as Pin's
// decoding finds it; "" when it is not a string.
func pinName(data []byte) string {
	var pin struct {
		Name json.RawMessage `json:"name"`
	}
	var name string
	if json.NewDecoder(bytes.NewReader(data)).Decode(&pin) != nil || json.Unmarshal(pin.Name, &name) != nil {
		return ""
	}
	return name
}

// describeValue says what the JSON value whose text starts raw is, quoting a
// literal (cut short).
func describeValue(raw []byte) string {
	quote := func(kind string) string { return kind + " " + snippet(raw) }
	switch raw[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return quote("the string")
	case 't', 'f':
		return quote("the boolean")
	case 'n':
		return "null"
	}
	return quote("the number")
}

// describeType says what JSON decodes into t; raw, the value found, tells an
// integer too large from one that is no integer.
func describeType(t reflect.Type, raw []byte) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int64, reflect.Int32:
		if (raw[0] == '-' || '0' <= raw[0] && raw[0] <= '9') && !bytes.ContainsAny(raw, ".eE") {
			return fmt.Sprintf("an integer that fits in %d bits", t.Bits())
		}
		return "an integer"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.String {
			return "an array of strings"
		}
		return "an array"
	case reflect.Struct:
		return "an object"
	}
	return t.String()
}
