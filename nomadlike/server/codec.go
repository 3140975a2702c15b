package server

import (
	"fmt"
	"reflect"
	"sync"

	"github.com/hashicorp/go-msgpack/v2/codec"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// msgpackHandle encodes Raft entries and FSM snapshots. Maps inside
// interface values decode as map[string]any, strings as strings.
var msgpackHandle = func() *codec.MsgpackHandle {
	h := &codec.MsgpackHandle{}
	h.RawToString = true
	h.WriteExt = true
	h.MapType = reflect.TypeOf(map[string]any(nil))
	// Read only `codec` tags: fields tagged json:"-" (a request's Eval,
	// Timestamp) must still travel in the Raft log.
	h.TypeInfos = codec.NewTypeInfos([]string{"codec"})
	return h
}()

// entryCodec is a reusable msgpack encoder with its scratch buffer, and a
// decoder: making them per entry (the encoder through a bufio writer into
// a growing bytes.Buffer) was a good part of an entry's allocations.
type entryCodec struct {
	enc     *codec.Encoder
	scratch []byte
	dec     *codec.Decoder
}

var entryCodecs = sync.Pool{New: func() any { return &entryCodec{} }}

// maxKeptScratch bounds the scratch buffer a pooled encoder keeps.
const maxKeptScratch = 1 << 20

// encodeEntry returns a Raft log entry: the message type byte followed by
// the msgpack encoding of body.
func encodeEntry(t structs.MessageType, body any) ([]byte, error) {
	c := entryCodecs.Get().(*entryCodec)
	defer entryCodecs.Put(c)
	if c.scratch == nil {
		c.scratch = make([]byte, 0, 4096)
	}
	c.scratch = c.scratch[:0]
	if c.enc == nil {
		c.enc = codec.NewEncoderBytes(&c.scratch, msgpackHandle)
	} else {
		c.enc.ResetBytes(&c.scratch)
	}
	err := c.enc.Encode(body)
	out := make([]byte, 1+len(c.scratch))
	out[0] = byte(t)
	copy(out[1:], c.scratch)
	if cap(c.scratch) > maxKeptScratch || err != nil {
		// The encoder holds the buffer it wrote into (until its next
		// reset) as well: drop both, or the pool keeps the large one.
		c.scratch, c.enc = nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("encode raft entry of type %d: %w", t, err)
	}
	return out, nil
}

// decodeBody decodes the msgpack part of an entry into out.
func decodeBody(buf []byte, out any) error {
	c := entryCodecs.Get().(*entryCodec)
	defer entryCodecs.Put(c)
	if c.dec == nil {
		c.dec = codec.NewDecoderBytes(buf, msgpackHandle)
	} else {
		c.dec.ResetBytes(buf)
	}
	err := c.dec.Decode(out)
	c.dec.ResetBytes(noBytes) // the pooled decoder keeps no entry alive
	return err
}

// noBytes resets a pooled decoder (ResetBytes ignores nil).
var noBytes = []byte{}
