package fingerprint

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// TestHostVolumes checks that existing paths are reported and that a
// missing or relative path is an error naming the block.
func TestHostVolumes(t *testing.T) {
	dir := t.TempDir()
	got, err := HostVolumes(map[string]*structs.ClientHostVolumeConfig{"data": {Name: "data", Path: dir + "/", ReadOnly: true}})
	if err != nil {
		t.Fatalf("HostVolumes: %v", err)
	}
	if hv := got["data"]; hv == nil || hv.Path != dir || !hv.ReadOnly || hv.Name != "data" {
		t.Errorf("got %+v", got["data"])
	}
	_, err = HostVolumes(map[string]*structs.ClientHostVolumeConfig{
		"gone": {Path: filepath.Join(dir, "gone")},
		"rel":  {Path: "srv/data"},
	})
	for _, want := range []string{`host_volume "gone": path ` + filepath.Join(dir, "gone") + ` does not exist`, `host_volume "rel": path "srv/data" must be absolute`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("got %v, want it to contain %q", err, want)
		}
	}
}
