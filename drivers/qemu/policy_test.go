package qemu

import (
	"os"
	"path/filepath"
	"testing"
)

func TestPathPolicy(t *testing.T) {
	root := t.TempDir()
	taskDir := filepath.Join(root, "alloc", "vm")
	images := filepath.Join(root, "srv", "images")
	other := filepath.Join(root, "elsewhere")
	for _, d := range []string{filepath.Join(taskDir, "local"), images, other} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(p string) string {
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	local := write(filepath.Join(taskDir, "local", "disk.img"))
	shared := write(filepath.Join(images, "base.img"))
	secret := write(filepath.Join(other, "secret.img"))
	if err := os.Symlink(secret, filepath.Join(taskDir, "local", "escape.img")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(shared, filepath.Join(taskDir, "local", "linked.img")); err != nil {
		t.Fatal(err)
	}
	pp := pathPolicy{TaskDir: taskDir, ImagePaths: []string{images}}
	cases := []struct {
		name, path, want, wantErr string
		policy                    *pathPolicy
	}{
		{name: "relative in task dir", path: "local/disk.img", want: local},
		{name: "absolute in task dir", path: local, want: local},
		{name: "allowed host dir", path: shared, want: shared},
		{name: "symlink to allowed dir", path: "local/linked.img", want: shared},
		{name: "host path not allowed", path: secret, wantErr: `config.image_path "` + secret + `": ` + secret + ` is outside the task dir ` + taskDir + ` and the client's image_paths (` + images + `); put the file in the task dir`},
		{name: "names the setting", path: secret, wantErr: `plugin "qemu" { config { image_paths = ["` + other + `"] } }`},
		{name: "no image_paths", path: shared, policy: &pathPolicy{TaskDir: taskDir}, wantErr: "the client's image_paths (none)"},
		{name: "dot-dot escape", path: "../../elsewhere/secret.img", wantErr: "is outside the task dir"},
		{name: "symlink escape", path: "local/escape.img", wantErr: "(through symlinks: " + secret + ")"},
		{name: "missing", path: "local/nope.img", wantErr: `config.image_path "local/nope.img": ` + filepath.Join(taskDir, "local", "nope.img") + ` (relative to the task dir ` + taskDir + `) does not exist; fetch it into the task dir with an artifact block`},
		{name: "directory", path: "local", wantErr: "is not a regular file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := pp
			if c.policy != nil {
				p = *c.policy
			}
			got, err := p.resolve("image_path", c.path)
			wantErr(t, err, c.wantErr)
			if got != c.want {
				t.Errorf("resolve(%q) = %q, want %q", c.path, got, c.want)
			}
		})
	}
}

func TestCheckArgs(t *testing.T) {
	cases := []struct {
		name      string
		args      []string
		allowlist []string
		wantErr   string
	}{
		{"no args", nil, nil, ""},
		{"allowed with values", []string{"-rtc", "base=utc", "-device", "virtio-rng-pci"}, []string{"-rtc", "-device"}, ""},
		{"double dash and = form", []string{"--rtc=base=utc"}, []string{"-rtc"}, ""},
		{"empty allowlist refuses", []string{"-rtc", "base=utc"}, nil, `config.args: flag -rtc not allowed by this client's args_allowlist (it allows none)`},
		{"names the fix", []string{"-drive", "file=/etc/shadow"}, []string{"-rtc"}, `plugin "qemu" { config { args_allowlist = ["-drive"] } }`},
		{"several", []string{"-drive", "x", "-chardev", "y", "-drive", "z"}, []string{"-rtc"}, "flag -drive, flag -chardev not allowed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantErr(t, checkArgs(c.args, c.allowlist), c.wantErr)
		})
	}
}
