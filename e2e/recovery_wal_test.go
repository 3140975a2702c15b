package e2e

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// TestDamagedRaftLogRefused: a durable agent's Raft log damaged in the
// middle of its data (a flipped byte in an early batch) or cut short (the
// tail segment truncated inside its data) is refused at start with the
// entries lost named, instead of starting silently without acknowledged
// writes (raft-wal verifies only the last batch when it opens).
func TestDamagedRaftLogRefused(t *testing.T) {
	a := startAgent(t, agentOpts{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for i := 0; i < 30; i++ {
		if _, err := a.api().RegisterJob(ctx, &structs.JobRegisterRequest{Job: unplaceableJob(fmt.Sprintf("wal-%02d", i))}); err != nil {
			t.Fatalf("register: %v", err)
		}
	}
	a.stop()
	stopSupervisorsUnder(t, a.dataDir)

	damage := map[string]func(t *testing.T, seg string){
		"flipped byte": func(t *testing.T, seg string) {
			b, err := os.ReadFile(seg)
			if err != nil {
				t.Fatal(err)
			}
			// The first frame after the 32-byte header is an entry: flip a
			// byte of its payload.
			if b[32] != 1 || binary.LittleEndian.Uint32(b[36:40]) < 4 {
				t.Fatalf("segment %s does not start with an entry frame", seg)
			}
			b[32+8+2] ^= 0xff
			if err := os.WriteFile(seg, b, 0o600); err != nil {
				t.Fatal(err)
			}
		},
		"truncated": func(t *testing.T, seg string) {
			b, err := os.ReadFile(seg)
			if err != nil {
				t.Fatal(err)
			}
			end := len(bytes.TrimRight(b, "\x00"))
			if err := os.Truncate(seg, int64(end*2/3)); err != nil {
				t.Fatal(err)
			}
		},
	}
	for name, harm := range damage {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			if out, err := exec.Command("cp", "-a", a.dataDir, dir).CombinedOutput(); err != nil {
				t.Fatalf("copy the data dir: %v: %s", err, out)
			}
			harm(t, largestSegment(t, filepath.Join(dir, "server", "raft", "wal")))
			b := startAgent(t, agentOpts{dataDir: dir, noWait: true})
			select {
			case <-b.exited:
			case <-time.After(30 * time.Second):
				t.Fatalf("an agent with a damaged Raft log (%s) started instead of refusing", name)
			}
			log, _ := os.ReadFile(b.logPath)
			if !regexp.MustCompile(`Raft log is damaged: .*\.wal at byte \d+: .*Lost: entries (\d+ to \d+|from index \d+ on)`).Match(log) {
				t.Errorf("the refusal does not say which entries were lost:\n%s", tail(string(log), 10))
			}
		})
	}
}

// largestSegment is the segment file in dir holding the most data.
func largestSegment(t *testing.T, dir string) string {
	t.Helper()
	segs, err := filepath.Glob(filepath.Join(dir, "*.wal"))
	if err != nil || len(segs) == 0 {
		t.Fatalf("no raft-wal segments in %s (%v)", dir, err)
	}
	best, bestLen := "", -1
	for _, s := range segs {
		b, err := os.ReadFile(s)
		if err != nil {
			t.Fatal(err)
		}
		if n := len(bytes.TrimRight(b, "\x00")); n > bestLen {
			best, bestLen = s, n
		}
	}
	return best
}
