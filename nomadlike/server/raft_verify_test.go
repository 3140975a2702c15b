package server

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// writeTestWAL writes entries 1-30 in three batches (and, with overwrite,
// replaces 28-30 as Raft does when a new leader overwrites a suffix) and
// returns the directory and the tail segment's path.
func writeTestWAL(t *testing.T, overwrite bool) (string, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "wal")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	w, meta := openTestWAL(t, dir)
	storeRange(t, w, 1, 10, 1)
	storeRange(t, w, 11, 20, 1)
	storeRange(t, w, 21, 30, 1)
	if overwrite {
		if err := w.DeleteRange(28, 30); err != nil {
			t.Fatal(err)
		}
		storeRange(t, w, 28, 30, 2)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := meta.Close(); err != nil {
		t.Fatal(err)
	}
	segs, _ := filepath.Glob(filepath.Join(dir, "*.wal"))
	if len(segs) == 0 {
		t.Fatal("no segment written")
	}
	return dir, segs[len(segs)-1]
}

func TestVerifyWAL(t *testing.T) {
	t.Run("intact log", func(t *testing.T) {
		for _, overwrite := range []bool{false, true} {
			dir, _ := writeTestWAL(t, overwrite)
			if err := verifyWAL(dir); err != nil {
				t.Fatalf("an intact log (suffix overwritten: %v): %v", overwrite, err)
			}
		}
	})
	t.Run("a byte flipped in an early batch", func(t *testing.T) {
		dir, seg := writeTestWAL(t, false)
		b, _ := os.ReadFile(seg)
		b[walHeaderLen+walFrameHdrLen+3] ^= 0xff // inside entry 1's payload
		_ = os.WriteFile(seg, b, 0o600)
		err := verifyWAL(dir)
		var d *walDamage
		if !errors.As(err, &d) || d.firstLost != 1 || d.lastLost != 30 {
			t.Fatalf("verifyWAL = %v; want damage losing entries 1 to 30", err)
		}
	})
	t.Run("the file cut inside its data", func(t *testing.T) {
		dir, seg := writeTestWAL(t, false)
		b, _ := os.ReadFile(seg)
		end := len(b)
		for end > 0 && b[end-1] == 0 {
			end--
		}
		if err := os.Truncate(seg, int64(end/2)); err != nil {
			t.Fatal(err)
		}
		err := verifyWAL(dir)
		var d *walDamage
		if !errors.As(err, &d) || d.firstLost < 2 || d.firstLost > 30 {
			t.Fatalf("verifyWAL = %v; want damage naming the first entry lost", err)
		}
	})
	t.Run("a torn last batch is a write never acknowledged", func(t *testing.T) {
		dir, seg := writeTestWAL(t, false)
		b, _ := os.ReadFile(seg)
		end := len(b)
		for end > 0 && b[end-1] == 0 {
			end--
		}
		// The last batch's data byte before its commit frame.
		b[end-walFrameHdrLen-1] ^= 0xff
		_ = os.WriteFile(seg, b, 0o600)
		if err := verifyWAL(dir); err != nil {
			t.Fatalf("a torn final batch: %v; raft-wal drops it, nothing acknowledged is lost", err)
		}
	})
}
