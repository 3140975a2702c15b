package server

import (
	"runtime"
	"testing"
)

// TestDefaultNumSchedulers: a server not told how many workers to run
// runs one per core and at least 8 (workers mostly wait for Raft).
func TestDefaultNumSchedulers(t *testing.T) {
	if n := DefaultNumSchedulers(); n < 8 || n < runtime.NumCPU() {
		t.Fatalf("DefaultNumSchedulers() = %d on %d cores", n, runtime.NumCPU())
	}
	s := newTestServer(t, func(c *Config) { c.NumSchedulers = 0 })
	if s.cfg.NumSchedulers != DefaultNumSchedulers() {
		t.Fatalf("a server configured with 0 workers runs %d, want %d", s.cfg.NumSchedulers, DefaultNumSchedulers())
	}
}
