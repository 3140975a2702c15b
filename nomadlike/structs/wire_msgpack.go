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

// WireMsgpackHandle is the client protocol's msgpack encoding of request
// bodies: the settings of the servers' Raft log (fields by name or `codec`
// tag), so every structure it carries (allocations, jobs, task states)
// already round-trips through it, with map keys sorted (as JSON's: a
// resent status update is the same bytes, which its Idempotency-Key's
// fingerprint needs) and nesting bounded for bodies from the network.
var WireMsgpackHandle = wireMsgpackHandle(true)

// WireMsgpackReplyHandle encodes the servers' replies: WireMsgpackHandle
// without sorting map keys (a reply need not be the same bytes twice, and
// sorting was about 4% of a server's CPU under nodesim).
var WireMsgpackReplyHandle = wireMsgpackHandle(false)

// RaftMsgpackHandle encodes the servers' Raft entries and FSM snapshots.
// Maps inside interface values decode as map[string]any, strings as
// strings. It reads only `codec` tags: fields tagged json:"-" (a request's
// Eval, Timestamp) must still travel in the Raft log.
var RaftMsgpackHandle = msgpackHandle()

func msgpackHandle() *codec.MsgpackHandle {
	h := &codec.MsgpackHandle{}
	h.RawToString = true
	h.WriteExt = true
	h.MapType = reflect.TypeOf(map[string]any(nil))
	h.TypeInfos = codec.NewTypeInfos([]string{"codec"})
	return h
}

func wireMsgpackHandle(canonical bool) *codec.MsgpackHandle {
	h := msgpackHandle()
	h.MaxDepth = 100
	h.Canonical = canonical
	return h
}
