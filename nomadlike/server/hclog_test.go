package server

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
)

// TestHclogAdapterFormatsFmtArgs: raft's hclog.Fmt values are formatted,
// not printed as a raw "%+v" with its arguments.
func TestHclogAdapterFormatsFmtArgs(t *testing.T) {
	var b bytes.Buffer
	l := newHclog(slog.New(slog.NewTextHandler(&b, nil)), "raft")
	l.Info("initial configuration", "servers", hclog.Fmt("%+v", []struct{ ID string }{{ID: "a"}}))
	if got := b.String(); !strings.Contains(got, `servers=[{ID:a}]`) || strings.Contains(got, "%+v") {
		t.Errorf("log line = %q, want servers=[{ID:a}]", got)
	}
}
