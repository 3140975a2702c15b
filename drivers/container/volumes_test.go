package container

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestVolumeMountsPolicy: sources inside the allocation dir are confined
// (resolved at mount time); host paths, absolute or climbing out, are
// refused unless host volumes are enabled, with the setting named.
func TestVolumeMountsPolicy(t *testing.T) {
	allocDir := t.TempDir()
	taskDir := filepath.Join(allocDir, "web")
	vols := []volume{{Host: "local/site", Container: "/srv"}, {Host: "../alloc/data", Container: "/data", ReadOnly: true}}
	mounts, confined, err := volumeMounts(vols, taskDir, allocDir, false, 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(mounts) != 2 || len(confined) != 2 {
		t.Fatalf("mounts %v confined %v, want 2 of each", mounts, confined)
	}
	if c := confined[1]; c.Mount != 6 || c.AllocDir != allocDir || c.Path != "alloc/data" || c.Key != "config.volumes[1]" {
		t.Errorf("confined[1] = %+v", c)
	}
	for _, host := range []string{"/etc", "../../etc", "../.."} {
		_, _, err := volumeMounts([]volume{{Host: host, Container: "/x"}}, taskDir, allocDir, false, 0)
		if err == nil || !strings.Contains(err.Error(), "host volumes are disabled") || !strings.Contains(err.Error(), hostVolumesHint) {
			t.Errorf("volume %q with host volumes disabled: %v, want a refusal naming %s", host, err, hostVolumesHint)
		}
	}
	mounts, confined, err = volumeMounts([]volume{{Host: t.TempDir(), Container: "/x"}}, taskDir, allocDir, true, 0)
	if err != nil || len(mounts) != 1 || len(confined) != 0 {
		t.Errorf("host volume with host volumes enabled: mounts %v confined %v err %v; want one unconfined mount", mounts, confined, err)
	}
}

// TestStageVolumes: a source reached through a symlink that stays in the
// allocation dir is staged; one whose symlink (absolute, climbing with
// "..", or through /proc) leaves it is refused; once staged, swapping the
// symlink for one to / does not change what the staging mount holds; undo
// unmounts without touching the allocation's files.
func TestStageVolumes(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("NOMADLIKE_REQUIRE_ALL") == "1" {
			t.Fatal("staging volumes needs root to mount, and NOMADLIKE_REQUIRE_ALL=1 is set")
		}
		t.Skip("staging volumes needs root to mount")
	}
	allocDir := t.TempDir()
	data := filepath.Join(allocDir, "alloc", "data")
	if err := os.MkdirAll(filepath.Join(data, "real"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(data, "real", "keep"), []byte("kept"), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, target := range map[string]string{"inside": "real", "root": "/", "climb": "../../..", "proc": "/proc/self/root"} {
		if err := os.Symlink(target, filepath.Join(data, name)); err != nil {
			t.Fatal(err)
		}
	}
	spec := &specs.Spec{Mounts: []specs.Mount{bind("/placeholder", "/v", false)}}
	vol := func(name string) []confinedVolume {
		return []confinedVolume{{Mount: 0, AllocDir: allocDir, Path: "alloc/data/" + name, Key: "config.volumes[0]", Source: "../alloc/data/" + name}}
	}
	stageDir := filepath.Join(t.TempDir(), "volumes")
	for _, name := range []string{"root", "climb", "proc"} {
		if _, _, err := stageVolumes(spec, vol(name), stageDir); err == nil || !strings.Contains(err.Error(), "outside the allocation directory") {
			t.Errorf("symlink %s: %v, want a refusal saying it leads outside the allocation directory", name, err)
		}
		if _, err := os.Stat(stageDir); !os.IsNotExist(err) {
			t.Errorf("after a refusal the staging dir is left: %v", err)
		}
	}
	if _, _, err := stageVolumes(spec, vol("missing"), stageDir); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("missing source: %v, want does not exist", err)
	}

	out, undo, err := stageVolumes(spec, vol("inside"), stageDir)
	if err != nil {
		t.Fatal(err)
	}
	if spec.Mounts[0].Source != "/placeholder" {
		t.Errorf("the input spec was changed: %q", spec.Mounts[0].Source)
	}
	src := out.Mounts[0].Source
	if filepath.Dir(src) != stageDir {
		t.Fatalf("mount source %q, want a staging path in %s", src, stageDir)
	}
	// The race the attack would try: swap the checked symlink for one to /.
	if err := os.Remove(filepath.Join(data, "inside")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/", filepath.Join(data, "inside")); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(src, "keep")); err != nil || string(b) != "kept" {
		t.Errorf("after the swap the staging mount holds %q (%v), want the originally resolved dir with keep=kept", b, err)
	}
	if _, err := os.Stat(filepath.Join(src, "proc")); err == nil {
		t.Errorf("the staging mount shows the host's /")
	}
	undo()
	if _, err := os.Stat(stageDir); !os.IsNotExist(err) {
		t.Errorf("after undo the staging dir is left: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(data, "real", "keep")); err != nil || string(b) != "kept" {
		t.Errorf("undo touched the allocation's files: %q %v", b, err)
	}
}
