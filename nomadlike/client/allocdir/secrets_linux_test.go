package allocdir

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSecretsTmpfs mounts the secrets tmpfs (root only), checks it is
// idempotent and that Destroy unmounts it before removing the tree.
func TestSecretsTmpfs(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("NOMADLIKE_REQUIRE_ALL") == "1" {
			t.Fatal("mounting a tmpfs needs root")
		}
		t.Skip("mounting a tmpfs needs root")
	}
	d := New(t.TempDir(), "a1")
	if _, err := d.BuildTask("web"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Destroy() })
	for range 2 { // idempotent
		mounted, why, err := d.MountSecrets("web")
		if err != nil || !mounted {
			t.Fatalf("MountSecrets = %v, %q, %v", mounted, why, err)
		}
	}
	secrets := filepath.Join(d.TaskDir("web"), "secrets")
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(mi), " "+secrets+" "); n != 1 {
		t.Fatalf("%s is mounted %d times, want once:\n%s", secrets, n, mi)
	}
	if err := os.WriteFile(filepath.Join(secrets, "token"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := d.Destroy(); err != nil {
		t.Fatalf("Destroy: %v", err)
	}
	if _, err := os.Stat(d.Dir); !os.IsNotExist(err) {
		t.Fatalf("alloc dir left after Destroy: %v", err)
	}
	t.Setenv(SecretsTmpfsEnv, "0")
	d2 := New(t.TempDir(), "a2")
	if _, err := d2.BuildTask("web"); err != nil {
		t.Fatal(err)
	}
	if mounted, why, err := d2.MountSecrets("web"); mounted || err != nil || !strings.Contains(why, SecretsTmpfsEnv) {
		t.Fatalf("MountSecrets with %s=0 = %v, %q, %v", SecretsTmpfsEnv, mounted, why, err)
	}
}
