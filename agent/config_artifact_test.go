package agent

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nomadlike/nomadlike/nomadlike/client/allocrunner"
)

// TestArtifactConfig checks the client's artifact block and its errors.
func TestArtifactConfig(t *testing.T) {
	c := DefaultConfig()
	src := `client {
  artifact {
    filesystem_isolation_extra_paths = ["d:r:/srv/artifacts/", "f:rx:/opt/app.tgz"]
    http_read_timeout                = "30m"
  }
}
`
	if err := ParseConfig(c, "agent.hcl", []byte(src)); err != nil {
		t.Fatalf("ParseConfig: %v", err)
	}
	want := allocrunner.ArtifactConfig{ExtraPaths: []allocrunner.IsolationPath{
		{Dir: true, Mode: "r", Path: "/srv/artifacts"}, {Mode: "rx", Path: "/opt/app.tgz"},
	}}
	if d := cmp.Diff(want, c.Client.Artifact); d != "" {
		t.Errorf("Artifact (-want +got):\n%s", d)
	}
	for _, tc := range []struct{ src, want string }{
		{"client {\n  artifact {\n    filesystem_isolation_extra_paths = [\"/srv\"]\n  }\n}\n", `must be "<kind>:<mode>:<path>"`},
		{"client {\n  artifact {\n    filesystem_isolation_extra_paths = [\"x:r:/srv\"]\n  }\n}\n", `kind "x" must be "f"`},
		{"client {\n  artifact {\n    filesystem_isolation_extra_paths = [\"d:q:/srv\"]\n  }\n}\n", `mode "q" may hold only`},
		{"client {\n  artifact {\n    filesystem_isolation_extra_paths = [\"d:r:srv\"]\n  }\n}\n", `must be absolute`},
	} {
		err := ParseConfig(DefaultConfig(), "agent.hcl", []byte(tc.src))
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "agent.hcl:2:") {
			t.Errorf("ParseConfig(%q) = %v, want an error at agent.hcl:2 containing %q", tc.src, err, tc.want)
		}
	}
}
