package container

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/cgroups"
	"golang.org/x/sys/unix"
)

// TestCgroupVersionSelection checks the cgroup v1/v2 choice on real
// filesystems: a cgroup2 mount is v2 and anything else v1, and the host's
// /sys/fs/cgroup gives the answer libcontainer's manager selection uses.
func TestCgroupVersionSelection(t *testing.T) {
	host, err := cgroupVersionAt(cgroupRoot)
	if err != nil {
		t.Skipf("no cgroups here: %v", err)
	}
	if want := map[bool]string{true: "v2", false: "v1"}[cgroups.IsCgroup2UnifiedMode()]; host != want || cgroupVersion() != want {
		t.Errorf("host cgroups: cgroupVersionAt = %s, cgroupVersion = %s, libcontainer's IsCgroup2UnifiedMode says %s", host, cgroupVersion(), want)
	}
	if v, err := cgroupVersionAt(t.TempDir()); err != nil || v != "v1" {
		t.Errorf("cgroupVersionAt(a plain directory) = %s, %v; want v1", v, err)
	}
	if os.Geteuid() != 0 {
		t.Skip("mounting a cgroup2 hierarchy needs root")
	}
	mnt := t.TempDir()
	if err := unix.Mount("none", mnt, "cgroup2", 0, ""); err != nil {
		t.Skipf("cannot mount cgroup2 here: %v", err)
	}
	t.Cleanup(func() { _ = unix.Unmount(mnt, unix.MNT_DETACH) })
	v, err := cgroupVersionAt(mnt)
	if err != nil || v != "v2" {
		t.Fatalf("cgroupVersionAt(a cgroup2 mount) = %s, %v; want v2", v, err)
	}
	// The real cgroup2 root lists its controllers; the memory controller
	// may be bound to v1 on a hybrid host, which cgroupProblem reports.
	b, err := os.ReadFile(filepath.Join(mnt, "cgroup.controllers"))
	if err != nil {
		t.Fatal(err)
	}
	hasMemory := strings.Contains(" "+strings.TrimSpace(string(b))+" ", " memory ")
	if got := cgroupProblem(mnt, v); (got == "") != hasMemory {
		t.Errorf("cgroupProblem(cgroup2 with controllers %q) = %q", b, got)
	}
}

// TestCgroupProblem checks the fingerprint's cgroup requirements for both
// layouts on fake hierarchies.
func TestCgroupProblem(t *testing.T) {
	dir := t.TempDir()
	write := func(rel, content string) string {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return filepath.Dir(p)
	}
	v2ok := write("v2ok/cgroup.controllers", "cpuset cpu io memory hugetlb pids\n")
	v2nomem := write("v2nomem/cgroup.controllers", "cpu pids\n")
	v1ok := write("v1ok/memory/memory.limit_in_bytes", "")
	v1ok = filepath.Dir(v1ok)
	v1nomem := write("v1nomem/cpu/cpu.shares", "")
	v1nomem = filepath.Dir(v1nomem)
	cases := []struct {
		name, root, version, want string
	}{
		{"v2 with memory", v2ok, "v2", ""},
		{"v2 without memory", v2nomem, "v2", "needs the cgroup2 memory controller"},
		{"v2 without controllers file", v1ok, "v2", "cannot read the cgroup2 controllers"},
		{"v1 with memory", v1ok, "v1", ""},
		{"v1 without memory", v1nomem, "v1", "needs the cgroup v1 memory controller at " + v1nomem + "/memory"},
		{"no cgroups", filepath.Join(dir, "missing"), "v1", "needs cgroups"},
	}
	for _, c := range cases {
		got := cgroupProblem(c.root, c.version)
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("%s: cgroupProblem = %q, want %q", c.name, got, c.want)
		}
	}
}

// cgroupVersionAt applies cgroupVersion's test to the filesystem mounted at
// dir: "v2" when it is cgroup2, "v1" otherwise. Only the tests need it.
func cgroupVersionAt(dir string) (string, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return "", fmt.Errorf("statfs %s: %w", dir, err)
	}
	if st.Type == unix.CGROUP2_SUPER_MAGIC {
		return "v2", nil
	}
	return "v1", nil
}
