package server

import (
	"strings"
	"testing"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// TestEncodeEntrySizes: entries encoded straight into a buffer sized from
// the previous entry of their type decode to what was encoded, whether
// they fit that buffer or outgrow it, and a small entry after a large one
// keeps no large empty tail.
func TestEncodeEntrySizes(t *testing.T) {
	typ := structs.MessageType(250) // a type no other test encodes
	entrySizes[typ].Store(0)
	for _, n := range []int{10, 100, 300_000, 300_100, 50, 2_000_000, 64, 64} {
		body := &structs.JobDeregisterRequest{JobID: strings.Repeat("n", n)}
		buf, err := encodeEntry(typ, body)
		if err != nil {
			t.Fatal(err)
		}
		if buf[0] != byte(typ) {
			t.Fatalf("entry of %d: type byte %d, want %d", n, buf[0], typ)
		}
		var got structs.JobDeregisterRequest
		if err := decodeBody(buf[1:], &got); err != nil || got.JobID != body.JobID {
			t.Fatalf("entry of %d: decoded %d bytes of job ID (%v), want %d", n, len(got.JobID), err, n)
		}
		if slack := cap(buf) - len(buf); slack > maxEntrySlack && slack > len(buf)/4 {
			t.Errorf("entry of %d: %d bytes, capacity %d", n, len(buf), cap(buf))
		}
	}
}
