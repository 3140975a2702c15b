package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// mountSmallFS mounts a tmpfs of sizeMB at a new directory and unmounts it
// when the test ends (after the agents using it, which are cleaned up first).
func mountSmallFS(t *testing.T, sizeMB int) string {
	t.Helper()
	requireRoot(t, "mounting a small filesystem")
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%dm", sizeMB), "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount a %d MB tmpfs: %v: %s", sizeMB, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// fillFS writes a file that takes all but keepKB of dir's filesystem.
func fillFS(t *testing.T, dir string, keepKB int64) string {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	free := int64(st.Bavail)*int64(st.Bsize) - keepKB<<10
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	for free > 0 {
		n := min(free, int64(len(buf)))
		if _, err := f.Write(buf[:n]); err != nil {
			break // full already
		}
		free -= n
	}
	return path
}

// bigJob is an unplaceable job whose Raft entry is about 64 KB.
func bigJob(id string) *structs.Job {
	j := unplaceableJob(id)
	j.Meta = map[string]string{"pad": strings.Repeat("x", 64<<10)}
	return j
}

// TestDiskFullRecovers: a durable agent whose data_dir is on a 20 MB
// filesystem (1) cannot start with raft-wal's 64 MiB segments and says so,
// naming raft_segment_size_mb; (2) starts with 1 MiB segments; (3) refuses
// writes while the disk is full and (4) accepts them again once space is
// freed, without a restart. Before, the server looped in elections
// ("segment is sealed") until it was restarted.
func TestDiskFullRecovers(t *testing.T) {
	fs := mountSmallFS(t, 20)

	big := startAgent(t, agentOpts{dataDir: filepath.Join(fs, "big"), noWait: true})
	select {
	case <-big.exited:
	case <-time.After(30 * time.Second):
		t.Fatalf("an agent with 64 MiB Raft segments on a 20 MB data_dir did not exit")
	}
	logText, _ := os.ReadFile(big.logPath)
	if !strings.Contains(string(logText), "raft_segment_size_mb") || !strings.Contains(string(logText), "no space left") {
		t.Errorf("the agent that cannot preallocate a segment does not say why and what to set:\n%s", tail(string(logText), 15))
	}
	_ = os.RemoveAll(filepath.Join(fs, "big"))

	a := startAgent(t, agentOpts{dataDir: filepath.Join(fs, "data"), serverExtra: "raft_segment_size_mb = 1"})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	register := func(id string) error {
		c, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_, err := a.api().RegisterJob(c, &structs.JobRegisterRequest{Job: bigJob(id)})
		return err
	}
	if err := register("before-full"); err != nil {
		t.Fatalf("register with space: %v", err)
	}
	filler := fillFS(t, fs, 256)
	failed := false
	for i := 0; i < 100 && !failed; i++ {
		failed = register(fmt.Sprintf("full-%d", i)) != nil
	}
	if !failed {
		t.Fatalf("100 writes of 64 KB succeeded on a full filesystem")
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	var last error
	waitFor(t, 60*time.Second, "writes to succeed again after space was freed (no restart)", func() (bool, string) {
		last = register("after-free")
		if last != nil {
			return false, last.Error()
		}
		return true, ""
	})
	for i := 0; i < 40; i++ { // past a segment rotation or two
		if err := register(fmt.Sprintf("after-free-%d", i)); err != nil {
			t.Fatalf("write %d after recovery: %v", i, err)
		}
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
