package cachix

import (
	"bytes"
	"errors"
	"io"
	"unicode/utf8"

	fastjson "github.com/segmentio/encoding/json"
)

// streamChunk is how much of a pin list is read at a time: big enough that a
// 100,000-pin answer takes a few dozen reads, small enough that decoding starts
// long before the answer has arrived.
const streamChunk = 1 << 20

// errFallBack sends the stream decoder back to decodePins on the whole text.
var errFallBack = errors.New("not a plain pin array")

// readPinList decodes a pin list (a JSON array) from r as it arrives: each pin
// is decoded as soon as its closing brace is read, so decoding overlaps the
// transfer and no buffer is grown and copied step by step. Text the fast path
// does not expect (invalid JSON or UTF-8, a top-level value other than an array
// of objects) is decoded again, whole, by decodePins, so that errors and the
// handling of bad bytes are exactly those of a pins file. It reads at most
// limit bytes; sizeHint (the Content-Length, or -1) sizes the buffers.
//
// A read error is returned as it is, wrapped in a *readError, for the caller
// to retry.
func readPinList(r io.Reader, limit, sizeHint int64) ([]Pin, error) {
	pins, _, err := streamPins(r, limit, sizeHint, streamChunk)
	return pins, err
}

// streamPins is readPinList with the chunk size given; slow tells whether it
// fell back to decodePins.
func streamPins(r io.Reader, limit, sizeHint int64, chunk int) (pins []Pin, slow bool, err error) {
	d := pinStream{r: io.LimitReader(r, limit+1), limit: limit, chunkSize: chunk}
	if sizeHint > 0 && sizeHint <= limit {
		// Some 250 bytes a pin on the wire.
		d.pins = make([]Pin, 0, sizeHint/200+1)
		d.chunkSize = int(min(sizeHint+1, int64(chunk)))
	}
	pins, err = d.run()
	if errors.Is(err, errFallBack) {
		pins, err = d.fallBack()
		return pins, true, err
	}
	return pins, false, err
}

// readError is a failed read of the answer (as opposed to bad content).
type readError struct{ err error }

func (e *readError) Error() string { return "reading body: " + e.err.Error() }
func (e *readError) Unwrap() error { return e.err }

// pinStream holds what readPinList has read. Decoded strings point into the
// chunks (fastjson.DontCopyString), so a chunk is never reused: a pin cut by a
// chunk's end is copied to the start of a new chunk.
type pinStream struct {
	r         io.Reader
	limit     int64
	chunkSize int
	read      int64
	pins      []Pin
	// done are the bytes read before buf, for the fall-back.
	done [][]byte
	// scratch is what each pin is decoded into; its artifacts' backing array
	// is reused, and each pin's artifacts are copied into strs, a slab carved
	// into slices of their exact length: the decoder gives every list room
	// for ten, which at 100,000 pins is 11 MB of fresh memory.
	scratch Pin
	strs    []string
	buf     []byte // buf[pos:] is not decoded yet
	pos     int
	eof     bool
}

// more reads another chunk, keeping buf[pos:] at the start of the new buffer.
// It returns false at the end of the input.
func (d *pinStream) more() (bool, error) {
	if d.eof {
		return false, nil
	}
	rest := d.buf[d.pos:]
	if len(d.buf) > 0 {
		d.done = append(d.done, d.buf[:d.pos])
	}
	next := make([]byte, len(rest), max(d.chunkSize, 2*len(rest)))
	copy(next, rest)
	n, err := io.ReadAtLeast(d.r, next[len(next):cap(next)], 1)
	next = next[:len(rest)+n]
	d.buf, d.pos = next, 0
	d.read += int64(n)
	if d.read > d.limit {
		return false, ErrTooLarge
	}
	switch {
	case err == io.EOF:
		d.eof = true
		return n > 0, nil
	case err != nil:
		return false, &readError{err}
	}
	return true, nil
}

// skipSpace moves pos past whitespace, reading more as needed, and returns
// the next byte, or false at the end of the input.
func (d *pinStream) skipSpace() (byte, bool, error) {
	for {
		for d.pos < len(d.buf) {
			switch c := d.buf[d.pos]; c {
			case ' ', '\t', '\n', '\r':
				d.pos++
			default:
				return c, true, nil
			}
		}
		ok, err := d.more()
		if err != nil || !ok {
			return 0, false, err
		}
	}
}

func (d *pinStream) run() ([]Pin, error) {
	c, ok, err := d.skipSpace()
	switch {
	case err != nil:
		return nil, err
	case !ok || c != '[':
		return nil, errFallBack
	}
	d.pos++
	for first := true; ; first = false {
		c, ok, err := d.skipSpace()
		if err != nil {
			return nil, err
		}
		if ok && c == ']' {
			d.pos++
			break
		}
		if !first {
			if !ok || c != ',' {
				return nil, errFallBack
			}
			d.pos++
			if c, ok, err = d.skipSpace(); err != nil {
				return nil, err
			}
		}
		if !ok || c != '{' {
			return nil, errFallBack
		}
		if err := d.object(); err != nil {
			return nil, err
		}
	}
	// Nothing but whitespace may follow.
	if _, ok, err := d.skipSpace(); err != nil || ok {
		if err == nil {
			err = errFallBack
		}
		return nil, err
	}
	if d.pins == nil {
		d.pins = []Pin{}
	}
	return d.pins, nil
}

// object decodes the object starting at pos once its closing brace is read.
// Strings are skipped with IndexByte: they are most of the text.
func (d *pinStream) object() error {
	depth, inString := 0, false
	off := 0 // bytes of buf[pos:] scanned; more keeps buf[pos:] in front
	for {
		obj := d.buf[d.pos:]
		for off < len(obj) {
			if inString {
				j := bytes.IndexByte(obj[off:], '"')
				if j < 0 {
					off = len(obj)
					break
				}
				off += j
				k := off
				for obj[k-1] == '\\' { // obj starts with '{', so k > 0
					k--
				}
				inString = (off-k)%2 == 1 // an odd run of backslashes escapes it
				off++
				continue
			}
			switch obj[off] {
			case '"':
				inString = true
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return d.decode(obj[:off+1])
				}
			}
			off++
		}
		ok, err := d.more()
		if err != nil {
			return err
		}
		if !ok {
			return errFallBack // cut short
		}
	}
}

// decode decodes one pin and moves pos past it.
func (d *pinStream) decode(obj []byte) error {
	if !utf8.Valid(obj) {
		return errFallBack // keepInvalidUTF8 needs the whole text
	}
	reuse := d.scratch.LastRevision.Artifacts[:0]
	d.scratch = Pin{}
	d.scratch.LastRevision.Artifacts = reuse
	rest, err := fastjson.Parse(obj, &d.scratch, fastjson.DontCopyString)
	if err != nil || len(bytes.TrimSpace(rest)) != 0 {
		return errFallBack
	}
	p := d.scratch
	p.LastRevision.Artifacts = d.exact(p.LastRevision.Artifacts)
	if p.LastRevision.StorePath == "" {
		p.NoLastRevision = noRevision(obj)
	}
	d.pins = append(d.pins, p)
	d.pos += len(obj)
	return nil
}

// exact returns a copy of list with no spare room, nil when it is empty (as
// decodePins gives it).
func (d *pinStream) exact(list []string) []string {
	n := len(list)
	if n == 0 {
		return nil
	}
	if cap(d.strs)-len(d.strs) < n {
		d.strs = make([]string, 0, max(1024, n))
	}
	start := len(d.strs)
	d.strs = append(d.strs, list...)
	return d.strs[start : start+n : start+n]
}

// fallBack reads the rest and decodes the whole text as decodePins does.
func (d *pinStream) fallBack() ([]Pin, error) {
	var all bytes.Buffer
	for _, b := range d.done {
		all.Write(b)
	}
	all.Write(d.buf)
	if !d.eof {
		n, err := all.ReadFrom(d.r)
		d.read += n
		if err != nil {
			return nil, &readError{err}
		}
	}
	if d.read > d.limit {
		return nil, ErrTooLarge
	}
	return decodePins(all.Bytes())
}
