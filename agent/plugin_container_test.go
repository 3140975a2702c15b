package agent

import (
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
