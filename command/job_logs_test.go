package command

import (
	"strings"
	"testing"
)

func TestPrefixWriterWholeLines(t *testing.T) {
	var b strings.Builder
	out := &lockedWriter{w: &b}
	p1 := &prefixWriter{out: out, prefix: "[a t] "}
	p2 := &prefixWriter{out: out, prefix: "[b t] "}
	for _, w := range []struct {
		p *prefixWriter
		s string
	}{{p1, "one\ntw"}, {p2, "x"}, {p1, "o\nthree"}, {p2, "y\n"}} {
		if _, err := w.p.Write([]byte(w.s)); err != nil {
			t.Fatal(err)
		}
	}
	p1.flush()
	p2.flush()
	want := "[a t] one\n[a t] two\n[b t] xy\n[a t] three\n"
	if b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}
