package jobspec

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

func TestArtifact(t *testing.T) {
	job := func(artifacts string) string {
		return "job \"j\" {\ngroup \"g\" {\ntask \"t\" {\ndriver = \"qemu\"\n" + artifacts + "}\n}\n}\n"
	}
	tests := []struct {
		name    string
		src     string
		want    []*structs.TaskArtifact
		wantErr string
	}{
		{"blocks", job(`artifact {
  source      = "https://example.com/disk.qcow2"
  destination = "local/vm"
  mode        = "file"
  options {
    checksum = "sha256:abc"
  }
  headers {
    X-Token = "t"
  }
}
artifact {
  source = "/srv/files/app.tar.gz"
}
`), []*structs.TaskArtifact{
			{GetterSource: "https://example.com/disk.qcow2", RelativeDest: "local/vm", GetterMode: "file",
				GetterOptions: map[string]string{"checksum": "sha256:abc"}, GetterHeaders: map[string]string{"X-Token": "t"}},
			{GetterSource: "/srv/files/app.tar.gz"},
		}, ""},
		{"map attributes", job(`artifact {
  source  = "https://example.com/a.zip"
  options = { archive = "false" }
}
`), []*structs.TaskArtifact{{GetterSource: "https://example.com/a.zip", GetterOptions: map[string]string{"archive": "false"}}}, ""},
		{"missing source", job("artifact {\n  destination = \"local/\"\n}\n"), nil, "u.hcl:5:1: Missing artifact source"},
		{"escaping destination", job("artifact {\n  source = \"https://x/y\"\n  destination = \"../../etc\"\n}\n"), nil,
			`destination "../../etc" is outside the allocation directory`},
		{"unknown key", job("artifact {\n  source = \"https://x/y\"\n  sorce = \"z\"\n}\n"), nil, "u.hcl:7:3"},
		{"bad mode", job("artifact {\n  source = \"https://x/y\"\n  mode = \"tree\"\n}\n"), nil, `mode "tree" is not one of "any", "file" or "dir"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j, err := Parse("u.hcl", []byte(tt.src))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Parse error = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			got := j.TaskGroups[0].Tasks[0].Artifacts
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("artifacts (-want +got):\n%s", diff)
			}
		})
	}
}
