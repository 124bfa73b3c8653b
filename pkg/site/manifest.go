package site

import (
	"io"
	"strconv"

	"github.com/kwbauson/create-pin-refs/pkg/jsonw"
	"github.com/kwbauson/create-pin-refs/pkg/pins"
)

// manifestChunk is how much of pins.json is encoded before it is written out.
const manifestChunk = 64 << 10

// WriteManifest writes pins.json to w: compact, since tools read it and a
// 100,000-pin list is 40% larger indented. The pins, nearly all of it, are
// appended field by field (three times faster than an encoder's reflection)
// into one small buffer, written out each time it fills: a 100,000-pin list
// is 25 MB, and filling that much fresh memory costs more than encoding it.
// The bytes are encoding/json's, which TestWriteManifestMatchesStd holds it to
// for every field of a pin.
func WriteManifest(w io.Writer, m ManifestData) error {
	b := make([]byte, 0, manifestChunk+4096)
	b = append(b, `{"format":`...)
	b = strconv.AppendInt(b, int64(m.Format), 10)
	if m.Cache != "" {
		b = append(b, `,"cache":`...)
		b = jsonw.String(b, m.Cache)
	}
	b = append(b, `,"substituter":`...)
	b = jsonw.String(b, m.Substituter)
	if m.Private {
		b = append(b, `,"private":true`...)
	}
	b = append(b, `,"publicKeys":`...)
	b = jsonw.Value(b, m.PublicKeys)
	b = append(b, `,"systems":`...)
	b = jsonw.Value(b, m.Systems)
	if m.Verification != nil {
		b = append(b, `,"verification":`...)
		b = jsonw.Value(b, m.Verification)
	}
	if len(m.Bundles) > 0 {
		b = append(b, `,"bundles":`...)
		b = jsonw.Value(b, m.Bundles)
	}
	b = append(b, `,"pins":`...)
	if m.Pins == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range m.Pins {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendPin(b, &m.Pins[i])
			if len(b) >= manifestChunk {
				if _, err := w.Write(b); err != nil {
					return err
				}
				b = b[:0]
			}
		}
		b = append(b, ']')
	}
	if len(m.Skipped) > 0 {
		b = append(b, `,"skipped":`...)
		b = jsonw.Value(b, m.Skipped)
	}
	_, err := w.Write(append(b, "}\n"...))
	return err
}

// appendPin appends p as encoding/json would, following pins.Pin's tags.
func appendPin(b []byte, p *pins.Pin) []byte {
	str := func(key, v string, omitEmpty bool) {
		if v != "" || !omitEmpty {
			b = append(b, key...)
			b = jsonw.String(b, v)
		}
	}
	num := func(key string, v uint64) {
		if v != 0 {
			b = append(b, key...)
			b = strconv.AppendUint(b, v, 10)
		}
	}
	str(`{"pin":`, p.PinName, false)
	str(`,"name":`, p.Name, false)
	str(`,"system":`, p.System, true)
	str(`,"storePath":`, p.StorePath, false)
	if len(p.Artifacts) > 0 {
		b = append(b, `,"artifacts":[`...)
		for i, a := range p.Artifacts {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsonw.String(b, a)
		}
		b = append(b, ']')
	}
	str(`,"program":`, p.Program, true)
	b = append(b, `,"revision":`...)
	b = strconv.AppendInt(b, int64(p.Revision), 10)
	str(`,"createdOn":`, p.CreatedOn, true)
	num(`,"narSize":`, p.NarSize)
	num(`,"closureSize":`, p.ClosureSize)
	if p.ClosurePaths != 0 {
		b = append(b, `,"closurePaths":`...)
		b = strconv.AppendInt(b, int64(p.ClosurePaths), 10)
	}
	str(`,"closure":`, p.Closure, true)
	str(`,"ca":`, p.CA, true)
	str(`,"deriver":`, p.Deriver, true)
	str(`,"verified":`, p.Verified, true)
	return append(b, '}')
}
