package server

import (
	"fmt"
	"math"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/go-msgpack/v2/codec"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// msgpackHandle encodes Raft entries and FSM snapshots (its settings are
// structs', beside the client protocol's handles: the generated codecs of
// the structs serve all of them).
var msgpackHandle = structs.RaftMsgpackHandle

// entryCodec is a reusable msgpack encoder and decoder: making them per
// entry (the encoder through a bufio writer into a growing bytes.Buffer)
// was a good part of an entry's allocations.
type entryCodec struct {
	enc *codec.Encoder
	dec *codec.Decoder
}

var entryCodecs = sync.Pool{New: func() any { return &entryCodec{} }}

// entrySizes holds, per message type, the size of the last entry encoded:
// the next entry of that type is encoded straight into a buffer of about
// that size, which Raft then keeps. Encoding into a pooled scratch buffer
// and copying out allocated each entry twice, and a plan result of 1,000
// allocations (over a megabyte) regrew the scratch from 4 KB each time:
// 12 KB allocated per placed allocation for entries of about 2.5 KB.
var entrySizes [256]atomic.Uint32

// Entry buffers start at minEntryBuf bytes; one left more than a quarter
// empty (the previous entry of its type was much larger) is copied to its
// size when over maxEntrySlack, so the Raft log and its cache hold no
// large empty tails.
const (
	minEntryBuf   = 512
	maxEntrySlack = 16 << 10
)

// encodeEntry returns a Raft log entry: the message type byte followed by
// the msgpack encoding of body.
func encodeEntry(t structs.MessageType, body any) ([]byte, error) {
	c := entryCodecs.Get().(*entryCodec)
	defer entryCodecs.Put(c)
	hint := max(int(entrySizes[t].Load()), minEntryBuf)
	buf := make([]byte, 1, 1+hint+hint/8)
	buf[0] = byte(t)
	// The encoder appends to msg, which shares buf's array until it
	// outgrows it.
	msg := buf[1:1]
	if c.enc == nil {
		c.enc = codec.NewEncoderBytes(&msg, msgpackHandle)
	} else {
		c.enc.ResetBytes(&msg)
	}
	err := c.enc.Encode(body)
	c.enc.ResetBytes(&noEncBytes) // the pooled encoder keeps no entry alive
	if err != nil {
		c.enc = nil // one that failed midway is not reused
		return nil, fmt.Errorf("encode raft entry of type %d: %w", t, err)
	}
	entrySizes[t].Store(uint32(min(len(msg), math.MaxUint32)))
	var out []byte
	if len(msg) <= cap(buf)-1 {
		out = buf[:1+len(msg)] // encoded in place
	} else {
		out = make([]byte, 1+len(msg))
		out[0] = byte(t)
		copy(out[1:], msg)
	}
	if slack := cap(out) - len(out); slack > maxEntrySlack && slack > len(out)/4 {
		out = append([]byte(nil), out...)
	}
	return out, nil
}

// noEncBytes is what a pooled encoder is left writing to between entries
// (not nil: ResetBytes allocates a buffer for a nil one).
var noEncBytes = []byte{}

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
