package jobspec

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// TestParseVolumesAndScaling checks the group volume, task volume_mount and
// group scaling blocks of a good file, with Nomad's defaults.
func TestParseVolumesAndScaling(t *testing.T) {
	job, err := ParseFile(filepath.Join("testdata", "volumes.nomad.hcl"))
	if err != nil {
		t.Fatalf("ParseFile: %v", err)
	}
	tg := job.TaskGroups[0]
	wantVols := map[string]*structs.VolumeRequest{
		"data":    {Name: "data", Type: "host", Source: "shared-data", ReadOnly: true},
		"scratch": {Name: "scratch", Type: "host", Source: "scratch"},
	}
	if diff := cmp.Diff(wantVols, tg.Volumes); diff != "" {
		t.Errorf("Volumes (-want +got):\n%s", diff)
	}
	wantMounts := []*structs.VolumeMount{
		{Volume: "data", Destination: "/data", ReadOnly: true},
		{Volume: "scratch", Destination: "/scratch", PropagationMode: "host-to-task"},
	}
	if diff := cmp.Diff(wantMounts, tg.Tasks[0].VolumeMounts); diff != "" {
		t.Errorf("VolumeMounts (-want +got):\n%s", diff)
	}
	wantScaling := &structs.ScalingPolicy{
		Type: "horizontal", Min: 2, Max: 10, Enabled: false,
		Target: map[string]string{"Namespace": "default", "Job": "files", "Group": "web"},
		Policy: map[string]any{"cooldown": "1m"},
	}
	if diff := cmp.Diff(wantScaling, tg.Scaling); diff != "" {
		t.Errorf("Scaling (-want +got):\n%s", diff)
	}
	if tg.Count != 2 {
		t.Errorf("Count = %d, want 2 (a group without count takes scaling.min)", tg.Count)
	}
}

// TestScalingDefaults checks that min defaults to count and enabled to true.
func TestScalingDefaults(t *testing.T) {
	src := "job \"j\" {\ngroup \"g\" {\ncount = 3\nscaling {\nmax = 5\n}\ntask \"t\" {\ndriver = \"raw_exec\"\n}\n}\n}\n"
	job, err := Parse("s.hcl", []byte(src))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	p := job.TaskGroups[0].Scaling
	if p.Min != 3 || p.Max != 5 || !p.Enabled || job.TaskGroups[0].Count != 3 {
		t.Errorf("got count %d, scaling %+v; want count 3, min 3, max 5, enabled", job.TaskGroups[0].Count, p)
	}
}

// TestParseVolumesBad checks that each mistake is reported where it is, with
// what to do.
func TestParseVolumesBad(t *testing.T) {
	tests := []struct {
		file string
		pos  string // line:col of the first problem
		frag string
	}{
		{"volume_csi.nomad.hcl", "4:16", `CSI volumes are not supported by nomadlike`},
		{"volume_no_source.nomad.hcl", "3:5", `host volume "v" needs a source: the name of a host_volume block in the client's config`},
		{"volume_mount_unknown.nomad.hcl", "10:23", `volume "dta" is not a volume of the task's group (its volumes: "v")`},
		{"volume_mount_relative.nomad.hcl", "11:23", `destination "data" must be an absolute path inside the task`},
		{"scaling_count_max.nomad.hcl", "3:13", `task group count must not be greater than maximum count in scaling policy (count 20, max 10)`},
		{"scaling_min_max.nomad.hcl", "3:5", `maximum count must not be less than minimum count (min 5, max 2)`},
		{"scaling_no_max.nomad.hcl", "3:5", `a scaling block needs max`},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join("testdata", "bad", tt.file)
			_, err := ParseFile(path)
			if err == nil {
				t.Fatalf("ParseFile: no error, want one at %s", tt.pos)
			}
			first := strings.SplitN(err.Error(), "\n", 2)[0]
			if want := path + ":" + tt.pos + ": "; !strings.HasPrefix(first, want) {
				t.Errorf("got first line %q, want prefix %q", first, want)
			}
			if !strings.Contains(first, tt.frag) {
				t.Errorf("got first line %q, want it to contain %q", first, tt.frag)
			}
		})
	}
}

// TestVolumeUnsupportedKeys checks that CSI-only keys of a host volume and
// the task-level scaling block are refused by name.
func TestVolumeUnsupportedKeys(t *testing.T) {
	group := func(body string) string {
		return "job \"j\" {\ngroup \"g\" {\n" + body + "task \"t\" {\ndriver = \"container\"\n}\n}\n}\n"
	}
	for _, tt := range []struct{ src, want string }{
		{group("volume \"v\" {\ntype = \"host\"\nsource = \"v\"\naccess_mode = \"single-node-writer\"\n}\n"), "u.hcl:6:15: Invalid job: TaskGroups[\"g\"].Volumes[\"v\"].AccessMode: access_mode is only for CSI volumes"},
		{group("volume \"v\" {\ntype = \"host\"\nsource = \"v\"\nper_alloc = true\n}\n"), "per_alloc is not supported by nomadlike for host volumes"},
		{group("volume \"v\" {\ntype = \"nfs\"\nsource = \"v\"\n}\n"), `unknown volume type "nfs"; use "host"`},
		{group("volume \"v\" {\ntype = \"host\"\nsource = \"v\"\n}\nvolume \"v\" {\ntype = \"host\"\nsource = \"w\"\n}\n"), `u.hcl:7:8: Duplicate volume: volume "v" is already defined at line 3`},
		{"job \"j\" {\ngroup \"g\" {\ntask \"t\" {\ndriver = \"raw_exec\"\nscaling \"cpu\" {\n}\n}\n}\n}\n", `block "scaling" is not supported yet by nomadlike`},
	} {
		_, err := Parse("u.hcl", []byte(tt.src))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%q): got error\n%v\nwant it to contain %q", tt.src, err, tt.want)
		}
	}
}
