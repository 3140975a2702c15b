package network

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/containernetworking/cni/libcni"
)

// TestPluginsRunWithMallocTunables: the manager's plugins (and the
// commands they run) get pluginTunables in their environment, unless the
// client's environment sets GLIBC_TUNABLES, whose value they then get.
func TestPluginsRunWithMallocTunables(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "env")
	script := "#!/bin/sh\nprintf '%s' \"$GLIBC_TUNABLES\" > " + out + "\necho '{\"cniVersion\": \"1.0.0\"}'\n"
	if err := os.WriteFile(filepath.Join(dir, "envdump"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	list, err := libcni.ConfListFromBytes([]byte(`{"cniVersion": "1.0.0", "name": "envdump", "plugins": [{"type": "envdump"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	seen := func() string {
		t.Helper()
		m, err := New(Config{StateDir: t.TempDir(), CNIPath: dir, CNIConfigDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.cni.AddNetworkList(context.Background(), list, &libcni.RuntimeConf{ContainerID: testAllocID(), NetNS: "/proc/self/ns/net", IfName: ifName}); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	t.Setenv("GLIBC_TUNABLES", "")
	os.Unsetenv("GLIBC_TUNABLES")
	if got, want := seen(), strings.TrimPrefix(pluginTunables, "GLIBC_TUNABLES="); got != want {
		t.Fatalf("the plugin's GLIBC_TUNABLES: %q, want %q", got, want)
	}
	t.Setenv("GLIBC_TUNABLES", "glibc.malloc.check=0")
	if got := seen(); got != "glibc.malloc.check=0" {
		t.Fatalf("the plugin's GLIBC_TUNABLES: %q, want the client's own", got)
	}
}
