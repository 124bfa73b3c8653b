package cachix

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

// TestReadPinListMatchesDecodePins holds the stream decoder to decodePins,
// the decoder of pins files, on every input, cut into chunks of every size
// and read a byte at a time: same pins, same error.
func TestReadPinListMatchesDecodePins(t *testing.T) {
	inputs := append(decodeInputs(), bigAnswer(300))
	for i, in := range inputs {
		want, wantErr := decodePins([]byte(in))
		for _, chunk := range []int{1, 2, 3, 7, 64, 1 << 20} {
			for _, oneByte := range []bool{false, true} {
				t.Run(fmt.Sprintf("%d/chunk=%d/oneByte=%v", i, chunk, oneByte), func(t *testing.T) {
					var r io.Reader = bytes.NewReader([]byte(in))
					if oneByte {
						r = iotest.OneByteReader(r)
					}
					got, slow, err := streamPins(r, DefaultMaxBodySize, int64(len(in)), chunk)
					checkSameDecode(t, "decodePins", want, wantErr, got, err)
					// Valid answers take the fast path (the fall-back would
					// hide a scanner that cuts pins in the wrong place); a
					// null pin, which no server sends, is left to decodePins.
					if slow && err == nil && utf8.ValidString(in) && !strings.HasPrefix(in, utf8BOM) && in != "[null]" {
						t.Error("fell back to decodePins on a valid answer")
					}
				})
			}
		}
	}
}

// checkSameDecode compares a decoder's answer with ref's (the decoder it is
// held to): the same pins, or the same error text.
func checkSameDecode(t *testing.T, ref string, want []Pin, wantErr error, got []Pin, err error) {
	t.Helper()
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("error %v, %s says %v", err, ref, wantErr)
	}
	if err != nil {
		if err.Error() != wantErr.Error() {
			t.Errorf("error %q, %s says %q", err, ref, wantErr)
		}
		return
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("pins differ from %s's (-want +got):\n%s", ref, diff)
	}
}

func streamPinsErr(r io.Reader, limit, sizeHint int64, chunk int) ([]Pin, error) {
	pins, _, err := streamPins(r, limit, sizeHint, chunk)
	return pins, err
}

func FuzzReadPinList(f *testing.F) {
	for _, in := range decodeInputs() {
		f.Add([]byte(in), uint8(3))
	}
	f.Fuzz(func(t *testing.T, in []byte, chunk uint8) {
		want, wantErr := decodePins(in)
		got, _, err := streamPins(bytes.NewReader(in), DefaultMaxBodySize, -1, int(chunk)+1)
		checkSameDecode(t, "decodePins", want, wantErr, got, err)
		// A type error is always traced to its pin.
		var typ *json.UnmarshalTypeError
		var pte *PinTypeError
		if errors.As(wantErr, &typ) && !errors.As(wantErr, &pte) {
			t.Errorf("type error %v names no pin", wantErr)
		}
	})
}

func TestReadPinListLimits(t *testing.T) {
	big := []byte(bigAnswer(50))
	t.Run("over the limit", func(t *testing.T) {
		for _, chunk := range []int{16, 1 << 20} {
			_, err := streamPinsErr(bytes.NewReader(big), int64(len(big)-1), -1, chunk)
			if !errors.Is(err, ErrTooLarge) {
				t.Errorf("chunk %d: error %v, want ErrTooLarge", chunk, err)
			}
		}
	})
	t.Run("at the limit", func(t *testing.T) {
		if _, err := streamPinsErr(bytes.NewReader(big), int64(len(big)), int64(len(big)), 16); err != nil {
			t.Error(err)
		}
	})
	t.Run("a read fails midway", func(t *testing.T) {
		boom := errors.New("connection reset")
		r := io.MultiReader(bytes.NewReader(big[:len(big)/2]), iotest.ErrReader(boom))
		_, err := streamPinsErr(r, DefaultMaxBodySize, -1, 64)
		var re *readError
		if !errors.As(err, &re) || !errors.Is(err, boom) {
			t.Errorf("error %v, want a *readError wrapping %v", err, boom)
		}
	})
}
