package server

import (
	"bytes"
	"fmt"
	"reflect"

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

// encodeEntry returns a Raft log entry: the message type byte followed by
// the msgpack encoding of body.
func encodeEntry(t structs.MessageType, body any) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte(byte(t))
	if err := codec.NewEncoder(&buf, msgpackHandle).Encode(body); err != nil {
		return nil, fmt.Errorf("encode raft entry of type %d: %w", t, err)
	}
	return buf.Bytes(), nil
}

// decodeBody decodes the msgpack part of an entry into out.
func decodeBody(buf []byte, out any) error {
	return codec.NewDecoderBytes(buf, msgpackHandle).Decode(out)
}
