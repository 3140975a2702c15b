package agent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestContainerPluginConfig: the container plugin's security settings
// parse (Nomad's volumes { enabled } block, image_paths, pids_limit,
// allow_caps), and bad values are refused naming the key.
func TestContainerPluginConfig(t *testing.T) {
	for _, tc := range []struct {
		body, wantErr string
	}{
		{body: `volumes { enabled = true }
image_paths = ["/srv/images"]
pids_limit = 256
allow_caps = ["net_raw", "chown"]`},
		{body: `pids_limit = 0`},
		{body: `volumes_enabled = true`},
		{body: `image_paths = ["srv/images"]`, wantErr: `image_paths: "srv/images" is not an absolute path`},
		{body: `pids_limit = -1`, wantErr: "pids_limit = -1"},
		{body: `volumes { enabled = "yes please" }`, wantErr: "agent.hcl:3:22: Unsuitable value type"},
	} {
		c := DefaultConfig()
		src := "plugin \"container\" {\n  config {\n" + tc.body + "\n  }\n}\n"
		err := ParseConfig(c, "agent.hcl", []byte(src))
		if err == nil {
			_, err = buildContainer(pluginEnv{DataDir: t.TempDir()}, c, c.PluginConfigs["container"])
		}
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%s: %v", tc.body, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%s: %v, want an error containing %q", tc.body, err, tc.wantErr)
		}
	}
}

// TestContainerAliases: the container driver also serves "docker" (unless
// turned off, or a Docker engine is present) and "exec".
func TestContainerAliases(t *testing.T) {
	noEngine := filepath.Join(t.TempDir(), "docker.sock")
	engine := filepath.Join(t.TempDir(), "docker.sock")
	if err := os.WriteFile(engine, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	defer func(old string) { dockerSocket = old }(dockerSocket)
	for _, tc := range []struct {
		body, socket string
		want         []string
	}{
		{"", noEngine, []string{"container", "docker", "exec"}},
		{"", engine, []string{"container", "exec"}},
		{"docker_alias = true", engine, []string{"container", "docker", "exec"}},
		{"docker_alias = false\nexec_driver = false", noEngine, []string{"container"}},
		{`chroot_env = { "/bin" = "/bin" }`, noEngine, []string{"container", "docker", "exec"}},
	} {
		dockerSocket = tc.socket
		c := DefaultConfig()
		src := "plugin \"container\" {\n  config {\n" + tc.body + "\n  }\n}\n"
		if err := ParseConfig(c, "agent.hcl", []byte(src)); err != nil {
			t.Fatal(err)
		}
		ds, err := buildDrivers(pluginEnv{DataDir: t.TempDir()}, c)
		if err != nil {
			t.Fatalf("%q: %v", tc.body, err)
		}
		var got []string
		for _, d := range ds {
			if d.Name() != "raw_exec" && d.Name() != "qemu" {
				got = append(got, d.Name())
			}
		}
		if strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("%q (socket %s): drivers %v, want %v", tc.body, tc.socket, got, tc.want)
		}
	}
	c := DefaultConfig()
	if err := ParseConfig(c, "agent.hcl", []byte("plugin \"container\" {\n  config {\n chroot_env = { \"bin\" = \"/bin\" }\n  }\n}\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := buildDrivers(pluginEnv{DataDir: t.TempDir()}, c); err == nil || !strings.Contains(err.Error(), "chroot_env") {
		t.Errorf("relative chroot_env: %v", err)
	}
}
