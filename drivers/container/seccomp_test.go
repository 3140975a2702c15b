package container

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/runc/libcontainer/seccomp"
)

// TestSeccompProfile checks that the default seccomp profile is applied
// when the binary is built with libseccomp (go test -tags seccomp, with
// libseccomp-dev installed; `make` does this when pkg-config finds
// libseccomp): a container given CAP_SYS_ADMIN still cannot unshare a mount
// namespace, a system call the profile refuses. Built without it, the
// driver says so in its fingerprint and this test checks that instead.
func TestSeccompProfile(t *testing.T) {
	requireContainers(t)
	if !seccomp.Enabled {
		if got := seccompAttr(); !strings.Contains(got, "built without libseccomp") {
			t.Errorf("driver.container.seccomp = %q, want it to say the binary has no seccomp support", got)
		}
		t.Skip("built without the seccomp tag: containers run without a seccomp filter (the fingerprint says so); run go test -tags seccomp with libseccomp-dev installed to test the profile")
	}
	if got := seccompAttr(); !strings.Contains(got, "default profile applied") {
		t.Errorf("driver.container.seccomp = %q, want it to name libseccomp and the default profile", got)
	}
	d := New(Config{Enabled: true, CacheDir: filepath.Join(t.TempDir(), "cache"), ImagePaths: testImagePaths, AllowCaps: append([]string{"CAP_SYS_ADMIN"}, defaultCaps...)}, testLogger(t))
	t.Cleanup(d.Close)
	cfg := shTask(t, `if /bin/busybox unshare -m /bin/true 2>/dev/null; then echo unshare-allowed; else echo unshare-refused; fi`,
		map[string]any{"cap_add": []any{"SYS_ADMIN"}})
	start(t, d, cfg)
	if res := wait(t, d, cfg.ID); !res.Successful() {
		b, _ := os.ReadFile(filepath.Join(cfg.LogDir, cfg.StderrBase+".0"))
		t.Fatalf("exit %+v; stderr %q", res, b)
	}
	if out := readFile(t, stdout(cfg)); !strings.Contains(out, "unshare-refused") {
		t.Errorf("stdout = %q: with CAP_SYS_ADMIN the container could unshare; the seccomp profile is not applied", out)
	}
}
