package agent

import (
	"bytes"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// jsonDepthOverflow is jsonDepthScan's depth check alone.
func jsonDepthOverflow(b []byte, max int) int {
	off, _ := jsonDepthScan(b, max)
	return off
}

// decoderDecodeJSON is decodeJSON as it was, through a json.Decoder for
// every body: the reference of TestDecodeJSONErrorsAsDecoder.
func decoderDecodeJSON(b []byte, out any) error {
	if off := jsonDepthOverflow(b, maxJSONDepth); off >= 0 {
		return structs.NewBadRequest("request body nests JSON objects and arrays more than %d deep (at offset %d); the limit is %d", maxJSONDepth, off, maxJSONDepth)
	}
	return decodeJSONStream(b, out)
}

// TestDecodeJSONErrorsAsDecoder: decodeJSON reads a body holding one
// object or array with json.Unmarshal, any other through a Decoder; the
// values and every error (message, field path, offset) are the Decoder's,
// over random mutations of job bodies (bytes deleted, inserted, replaced,
// the body cut short, data after it, whitespace before it).
func TestDecodeJSONErrorsAsDecoder(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 8))
	bases := [][]byte{
		[]byte(mustJSON(t, &structs.JobRegisterRequest{Job: benchRegisterJob("web")})),
		[]byte(mustJSON(t, map[string]any{"Job": testJob("b")})),
		[]byte(`{"Job":{"ID":"a","TaskGroups":[{"Name":"g","Count":"x"}]}}`),
		[]byte(`[{"a":1}]`),
		[]byte(` {"Job":{"ID":"a\"}]","Update":{"Stagger":1e3}}} `),
	}
	junk := []byte("{}[]\",:0a \n\\-.tfn")
	equal := func(body []byte) {
		t.Helper()
		var got, want structs.JobRegisterRequest
		gotErr, wantErr := decodeJSON(body, &got), decoderDecodeJSON(body, &want)
		if (gotErr == nil) != (wantErr == nil) || (gotErr != nil && gotErr.Error() != wantErr.Error()) {
			t.Fatalf("body %q:\ngot  %v\nwant %v", body, gotErr, wantErr)
		}
		if gotErr == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("body %q: decoded values differ", body)
		}
	}
	for _, b := range bases {
		equal(b)
	}
	for range 30000 {
		b := bytes.Clone(bases[rng.IntN(len(bases))])
		for range 1 + rng.IntN(2) {
			i := rng.IntN(len(b) + 1)
			switch rng.IntN(6) {
			case 0:
				if i < len(b) {
					b = append(b[:i], b[i+1:]...)
				}
			case 1:
				b = append(b[:i], append([]byte{junk[rng.IntN(len(junk))]}, b[i:]...)...)
			case 2:
				if i < len(b) {
					b[i] = junk[rng.IntN(len(junk))]
				}
			case 3:
				b = b[:i]
			case 4:
				b = append(b, []string{" x", "{}", " {", "\n", "[1]", "null", `"s"`}[rng.IntN(7)]...)
			case 5:
				b = append([]byte(" \n\t"[:1+rng.IntN(3)]), b...)
			}
		}
		equal(b)
	}
}
