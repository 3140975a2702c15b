package container

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAllowLocalImage: a local image is allowed only inside image_paths,
// judged on its path with symlinks resolved (and then read from that
// resolved path); registry images need no allow list.
func TestAllowLocalImage(t *testing.T) {
	allowed, other := t.TempDir(), t.TempDir()
	for _, d := range []string{filepath.Join(allowed, "app"), filepath.Join(other, "secret")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(other, "secret"), filepath.Join(allowed, "escape")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(allowed, "app"), filepath.Join(other, "to-app")); err != nil {
		t.Fatal(err)
	}
	paths := []string{allowed}
	for _, tc := range []struct {
		image, wantPath, wantErr string
		paths                    []string
	}{
		{image: "docker.io/library/busybox:1.36", paths: nil},
		{image: "rootfs://" + allowed + "/app", wantPath: filepath.Join(allowed, "app"), paths: paths},
		{image: "oci-layout://" + other + "/to-app:v1", wantPath: filepath.Join(allowed, "app"), paths: paths},
		{image: "rootfs://" + other + "/secret", paths: paths, wantErr: "outside the client's image_paths (" + allowed + ")"},
		{image: "rootfs://" + allowed + "/escape", paths: paths, wantErr: "(through symlinks: " + filepath.Join(other, "secret") + ")"},
		{image: "rootfs:///etc", paths: nil, wantErr: `image_paths (none): local images (rootfs://) are read only from directories the operator allows; use a registry image, or have an operator allow the directory in the client's agent config: plugin "container" { config { image_paths = ["/"] } }`},
		{image: "oci-archive://" + allowed + "/missing.tar", paths: paths, wantErr: "does not exist on this client"},
	} {
		src, err := parseImage(tc.image)
		if err != nil {
			t.Fatal(err)
		}
		got, err := allowLocalImage(src, tc.paths)
		switch {
		case tc.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: %v, want an error containing %q", tc.image, err, tc.wantErr)
			}
		case err != nil:
			t.Errorf("%s: %v", tc.image, err)
		case tc.wantPath != "" && got.Path != tc.wantPath:
			t.Errorf("%s: path %q, want the resolved %q", tc.image, got.Path, tc.wantPath)
		}
	}
}
