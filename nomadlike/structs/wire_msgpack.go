package structs

import (
	"reflect"

	"github.com/hashicorp/go-msgpack/v2/codec"
)

// MsgpackContentType is the media type of the client protocol's binary
// encoding. A client asks for it with Accept (the servers answer the
// client protocol's endpoints in it, and in JSON otherwise) and sends its
// bodies in it, with Content-Type, once a server has answered in it.
const MsgpackContentType = "application/msgpack"

// WireMsgpackHandle is the client protocol's msgpack encoding: the
// settings of the servers' Raft log (fields by name or `codec` tag), so
// every structure it carries (allocations, jobs, task states) already
// round-trips through it, with map keys sorted and nesting bounded for
// bodies from the network.
var WireMsgpackHandle = func() *codec.MsgpackHandle {
	h := &codec.MsgpackHandle{}
	h.RawToString = true
	h.WriteExt = true
	h.MapType = reflect.TypeOf(map[string]any(nil))
	h.TypeInfos = codec.NewTypeInfos([]string{"codec"})
	h.MaxDepth = 100
	// Map keys sorted, as JSON's: a resent status update is the same
	// bytes, which its Idempotency-Key's fingerprint needs.
	h.Canonical = true
	return h
}()
