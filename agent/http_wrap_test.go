package agent

import (
	"errors"
	"strings"
	"testing"

	"github.com/hashicorp/go-msgpack/v2/codec"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// TestReplyEncoderReuse: a pooled reply encoder encodes each reply afresh
// (nothing of the previous one), keeps a small buffer for the next reply
// and drops one grown past maxKeptReply.
func TestReplyEncoderReuse(t *testing.T) {
	decode := func(b []byte) map[string]string {
		t.Helper()
		var out map[string]string
		if err := codec.NewDecoderBytes(b, structs.WireMsgpackHandle).Decode(&out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	e := &replyEncoder{}
	big := map[string]string{"k": strings.Repeat("x", 2*maxKeptReply)}
	b, err := e.encode(big)
	if err != nil || len(decode(b)["k"]) != 2*maxKeptReply {
		t.Fatalf("large reply: %v", err)
	}
	e.release()
	if e.buf != nil || e.enc != nil {
		t.Fatalf("released after a %d-byte reply: buffer of %d kept, want none", len(b), cap(e.buf))
	}
	for _, v := range []string{"first", "second"} {
		b, err := e.encode(map[string]string{"k": v})
		if err != nil {
			t.Fatal(err)
		}
		if got := decode(b); len(got) != 1 || got["k"] != v {
			t.Fatalf("reply %q decodes as %v", v, got)
		}
		e.release()
		if e.buf == nil || e.enc == nil {
			t.Fatal("a small reply's buffer and encoder were not kept")
		}
	}
	if _, err := e.encode(failingSelfer{}); err == nil {
		t.Fatal("a failing encoding: no error")
	}
	if e.buf != nil || e.enc != nil {
		t.Fatal("an encoder that failed is kept")
	}
}

// failingSelfer fails to encode.
type failingSelfer struct{}

func (failingSelfer) CodecEncodeSelf(*codec.Encoder) { panic(errors.New("cannot encode")) }
func (failingSelfer) CodecDecodeSelf(*codec.Decoder) {}
