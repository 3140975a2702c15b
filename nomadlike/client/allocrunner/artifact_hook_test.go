package allocrunner

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

func tarball(t *testing.T, gz bool, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	var w = &buf
	var gzw *gzip.Writer
	var tw *tar.Writer
	if gz {
		gzw = gzip.NewWriter(w)
		tw = tar.NewWriter(gzw)
	} else {
		tw = tar.NewWriter(w)
	}
	for name, body := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o755, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if gzw != nil {
		if err := gzw.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

func zipball(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func sha256hex(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func TestArtifactHook(t *testing.T) {
	disk := []byte("pretend this is a qcow2 image")
	files := map[string][]byte{
		"/disk.qcow2":  disk,
		"/app.tar.gz":  tarball(t, true, map[string]string{"bin/app": "#!/bin/sh\n", "README": "hi"}),
		"/app.tar":     tarball(t, false, map[string]string{"data.txt": "plain tar"}),
		"/app.zip":     zipball(t, map[string]string{"conf/app.conf": "zipped"}),
		"/slip.zip":    zipball(t, map[string]string{"../../evil": "x"}),
		"/slip.tar":    tarball(t, false, map[string]string{"../evil": "x"}),
		"/private.bin": []byte("secret"),
		// up -> dest; up/esc lands at dest/esc -> dest/.. (lexically inside).
		"/chain.tar":    linkTar(t, [][2]string{{"d1/d2/d3/", ""}, {"d1/d2/d3/up", "../../.."}, {"d1/d2/d3/up/esc", "../.."}, {"d1/d2/d3/up/esc/pwned", "=x"}}),
		"/abslink.tar":  linkTar(t, [][2]string{{"etc", "/etc"}, {"etc/cron.d/x", "=x"}}),
		"/midway.tar":   linkTar(t, [][2]string{{"a/", ""}, {"a/b", "."}, {"c", "a/b/../.."}}),
		"/oklink.tar":   linkTar(t, [][2]string{{"bin/", ""}, {"bin/app", "=#!/bin/sh\n"}, {"bin/run", "app"}, {"lib/", ""}, {"lib/app", "../bin/app"}}),
		"/notarchive.z": []byte("zzz"),
	}
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		switch {
		case r.URL.Path == "/broken":
			http.Error(w, "upstream down", http.StatusBadGateway)
			return
		case r.URL.Path == "/private.bin" && r.Header.Get("X-Token") != "s3cret":
			http.Error(w, "no token", http.StatusForbidden)
			return
		}
		b, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(b)
	}))
	defer srv.Close()
	localDir := t.TempDir()
	localFile := filepath.Join(localDir, "seed.img")
	if err := os.WriteFile(localFile, []byte("local bytes"), 0o644); err != nil {
		t.Fatal(err)
	}
	hostDir := t.TempDir() // not allowed
	hostFile := filepath.Join(hostDir, "shadow")
	if err := os.WriteFile(hostFile, []byte("root:x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(hostFile, filepath.Join(localDir, "link-out")); err != nil {
		t.Fatal(err)
	}
	allowFile, err := ParseIsolationPath("f:r:" + hostDir + "/granted")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(hostDir, "granted"), []byte("one file"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := ArtifactConfig{ExtraPaths: []IsolationPath{{Dir: true, Mode: "r", Path: localDir}, allowFile}}
	s512 := sha512.Sum512(disk)

	cases := []struct {
		name string
		a    structs.TaskArtifact
		// want maps paths relative to the task dir to their content.
		want          map[string]string
		wantErr       string
		wantPermanent bool
	}{
		{name: "file into local/", a: structs.TaskArtifact{GetterSource: srv.URL + "/disk.qcow2"},
			want: map[string]string{"local/disk.qcow2": string(disk)}},
		{name: "sha256 checksum", a: structs.TaskArtifact{GetterSource: srv.URL + "/disk.qcow2", GetterOptions: map[string]string{"checksum": "sha256:" + sha256hex(disk)}},
			want: map[string]string{"local/disk.qcow2": string(disk)}},
		{name: "sha512 checksum, upper case", a: structs.TaskArtifact{GetterSource: srv.URL + "/disk.qcow2", GetterOptions: map[string]string{"checksum": "sha512:" + strings.ToUpper(hex.EncodeToString(s512[:]))}},
			want: map[string]string{"local/disk.qcow2": string(disk)}},
		{name: "checksum mismatch", a: structs.TaskArtifact{GetterSource: srv.URL + "/disk.qcow2", GetterOptions: map[string]string{"checksum": "sha256:" + strings.Repeat("0", 64)}},
			wantErr: `failed to download artifact "` + srv.URL + `/disk.qcow2": checksum mismatch: options.checksum wants sha256:000`, wantPermanent: true},
		{name: "malformed checksum", a: structs.TaskArtifact{GetterSource: srv.URL + "/disk.qcow2", GetterOptions: map[string]string{"checksum": "crc32:abcd"}},
			wantErr: `options.checksum "crc32:abcd" must be "<type>:<hex>"`, wantPermanent: true},
		{name: "short checksum", a: structs.TaskArtifact{GetterSource: srv.URL + "/disk.qcow2", GetterOptions: map[string]string{"checksum": "md5:abcd"}},
			wantErr: "a md5 checksum is 32 hex digits", wantPermanent: true},
		{name: "tar.gz unpacked", a: structs.TaskArtifact{GetterSource: srv.URL + "/app.tar.gz", RelativeDest: "local/app"},
			want: map[string]string{"local/app/bin/app": "#!/bin/sh\n", "local/app/README": "hi"}},
		{name: "tar unpacked", a: structs.TaskArtifact{GetterSource: srv.URL + "/app.tar"},
			want: map[string]string{"local/data.txt": "plain tar"}},
		{name: "zip unpacked", a: structs.TaskArtifact{GetterSource: srv.URL + "/app.zip", GetterMode: "dir"},
			want: map[string]string{"local/conf/app.conf": "zipped"}},
		{name: "archive kept when archive=false", a: structs.TaskArtifact{GetterSource: srv.URL + "/app.zip", GetterOptions: map[string]string{"archive": "false"}},
			want: map[string]string{"local/app.zip": string(files["/app.zip"])}},
		{name: "mode file", a: structs.TaskArtifact{GetterSource: srv.URL + "/disk.qcow2", GetterMode: "file", RelativeDest: "local/vm/root.img"},
			want: map[string]string{"local/vm/root.img": string(disk)}},
		{name: "mode dir needs an archive", a: structs.TaskArtifact{GetterSource: srv.URL + "/notarchive.z", GetterMode: "dir"},
			wantErr: `mode = "dir" needs an archive`, wantPermanent: true},
		{name: "headers sent", a: structs.TaskArtifact{GetterSource: srv.URL + "/private.bin", GetterHeaders: map[string]string{"X-Token": "s3cret"}},
			want: map[string]string{"local/private.bin": "secret"}},
		{name: "404 is permanent", a: structs.TaskArtifact{GetterSource: srv.URL + "/nope.img"},
			wantErr: `failed to download artifact "` + srv.URL + `/nope.img": server answered 404 Not Found; check the URL`, wantPermanent: true},
		{name: "403 without the header", a: structs.TaskArtifact{GetterSource: srv.URL + "/private.bin"},
			wantErr: "server answered 403 Forbidden", wantPermanent: true},
		{name: "502 is retried", a: structs.TaskArtifact{GetterSource: srv.URL + "/broken"},
			wantErr: "server answered 502 Bad Gateway", wantPermanent: false},
		{name: "destination escapes", a: structs.TaskArtifact{GetterSource: srv.URL + "/disk.qcow2", RelativeDest: "../../etc"},
			wantErr: `destination "../../etc" is outside the allocation directory`, wantPermanent: true},
		{name: "absolute destination outside", a: structs.TaskArtifact{GetterSource: srv.URL + "/disk.qcow2", RelativeDest: "/etc"},
			wantErr: `destination "/etc" is outside the allocation directory`, wantPermanent: true},
		{name: "shared alloc dir", a: structs.TaskArtifact{GetterSource: srv.URL + "/app.tar", RelativeDest: "../alloc/data"},
			want: map[string]string{"../alloc/data/data.txt": "plain tar"}},
		{name: "another task's dir", a: structs.TaskArtifact{GetterSource: srv.URL + "/disk.qcow2", GetterMode: "file", RelativeDest: "../web/local/root.img"},
			want: map[string]string{"../web/local/root.img": string(disk)}},
		{name: "task view of the alloc dir", a: structs.TaskArtifact{GetterSource: srv.URL + "/disk.qcow2", RelativeDest: "/alloc/vm"},
			want: map[string]string{"../alloc/vm/disk.qcow2": string(disk)}},
		{name: "zip slip refused", a: structs.TaskArtifact{GetterSource: srv.URL + "/slip.zip"},
			wantErr: `entry "../../evil" would be written outside the destination`, wantPermanent: true},
		{name: "tar slip refused", a: structs.TaskArtifact{GetterSource: srv.URL + "/slip.tar"},
			wantErr: `entry "../evil" would be written outside the destination`, wantPermanent: true},
		{name: "local path", a: structs.TaskArtifact{GetterSource: localFile},
			want: map[string]string{"local/seed.img": "local bytes"}},
		{name: "file URL", a: structs.TaskArtifact{GetterSource: "file://" + localFile, RelativeDest: "local/x"},
			want: map[string]string{"local/x/seed.img": "local bytes"}},
		{name: "missing local path", a: structs.TaskArtifact{GetterSource: filepath.Join(localDir, "none")},
			wantErr: "open local source", wantPermanent: true},
		{name: "local path not allowed", a: structs.TaskArtifact{GetterSource: hostFile},
			wantErr: `filesystem_isolation_extra_paths = ["d:r:` + hostDir + `"]`, wantPermanent: true},
		{name: "file URL not allowed", a: structs.TaskArtifact{GetterSource: "file://" + hostFile},
			wantErr: "outside the paths this client lets artifacts read", wantPermanent: true},
		{name: "symlink out of an allowed dir", a: structs.TaskArtifact{GetterSource: filepath.Join(localDir, "link-out")},
			wantErr: "open local source", wantPermanent: true},
		{name: "dotdot out of an allowed dir", a: structs.TaskArtifact{GetterSource: localDir + "/../" + filepath.Base(hostDir) + "/shadow"},
			wantErr: "outside the paths this client lets artifacts read", wantPermanent: true},
		{name: "one allowed file", a: structs.TaskArtifact{GetterSource: filepath.Join(hostDir, "granted")},
			want: map[string]string{"local/granted": "one file"}},
		{name: "tar symlink chain refused", a: structs.TaskArtifact{GetterSource: srv.URL + "/chain.tar"},
			wantErr: `entry "d1/d2/d3/up/esc": links to "../..", outside the destination`, wantPermanent: true},
		{name: "tar absolute symlink refused", a: structs.TaskArtifact{GetterSource: srv.URL + "/abslink.tar"},
			wantErr: `entry "etc": links to "/etc", an absolute path`, wantPermanent: true},
		{name: "tar symlink climbing midway refused", a: structs.TaskArtifact{GetterSource: srv.URL + "/midway.tar"},
			wantErr: `entry "c": links to "a/b/../.."`, wantPermanent: true},
		{name: "tar symlinks inside kept", a: structs.TaskArtifact{GetterSource: srv.URL + "/oklink.tar"},
			want: map[string]string{"local/bin/run": "#!/bin/sh\n", "local/lib/app": "#!/bin/sh\n"}},
		{name: "unsupported getter", a: structs.TaskArtifact{GetterSource: "git::https://example.com/repo"},
			wantErr: `getter "git" is not supported by nomadlike`, wantPermanent: true},
		{name: "unsupported option", a: structs.TaskArtifact{GetterSource: srv.URL + "/disk.qcow2", GetterOptions: map[string]string{"depth": "1"}},
			wantErr: `option "depth" is not supported`, wantPermanent: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			taskDir := filepath.Join(t.TempDir(), "vm") // <alloc>/<task>
			h := newArtifactHook(cfg)
			req := &PrestartRequest{Task: &structs.Task{Name: "vm", Artifacts: []*structs.TaskArtifact{&c.a}}}
			err := h.Prestart(context.Background(), req, &PrestartResponse{TaskDir: taskDir})
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("Prestart error = %v, want it to contain %q", err, c.wantErr)
				}
				var ae *artifactError
				if !errors.As(err, &ae) {
					t.Fatalf("error %T is not an *artifactError", err)
				}
				if ae.permanent != c.wantPermanent {
					t.Errorf("permanent = %v, want %v", ae.permanent, c.wantPermanent)
				}
				return
			}
			if err != nil {
				t.Fatalf("Prestart: %v", err)
			}
			for rel, want := range c.want {
				b, err := os.ReadFile(filepath.Join(taskDir, rel))
				if err != nil || string(b) != want {
					t.Errorf("%s = %q, %v; want %q", rel, b, err, want)
				}
			}
		})
	}

	t.Run("planted symlinks in the task dir", func(t *testing.T) {
		// A prestart task made local/x -> hostDir and tmp -> hostDir, and
		// a sibling task alloc/data -> hostDir.
		allocDir := t.TempDir()
		taskDir := filepath.Join(allocDir, "vm")
		if err := os.MkdirAll(filepath.Join(allocDir, "alloc"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(hostDir, filepath.Join(allocDir, "alloc", "data")); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{"local", "tmp"} {
			if err := os.MkdirAll(filepath.Join(taskDir, p), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Symlink(hostDir, filepath.Join(taskDir, "local", "x")); err != nil {
			t.Fatal(err)
		}
		h := newArtifactHook(cfg)
		for _, a := range []structs.TaskArtifact{
			{GetterSource: srv.URL + "/app.tar", RelativeDest: "local/x"},
			{GetterSource: srv.URL + "/disk.qcow2", RelativeDest: "local/x/"},
			{GetterSource: srv.URL + "/disk.qcow2", GetterMode: "file", RelativeDest: "local/x/disk"},
			{GetterSource: srv.URL + "/app.tar", RelativeDest: "../alloc/data"},
			{GetterSource: srv.URL + "/disk.qcow2", RelativeDest: "../alloc/data/"},
			{GetterSource: srv.URL + "/disk.qcow2", GetterMode: "file", RelativeDest: "../alloc/data/disk"},
		} {
			req := &PrestartRequest{Task: &structs.Task{Name: "vm", Artifacts: []*structs.TaskArtifact{&a}}}
			if err := h.Prestart(context.Background(), req, &PrestartResponse{TaskDir: taskDir}); err == nil {
				t.Errorf("artifact into %s -> host dir (%s): got nil error", a.RelativeDest, a.GetterSource)
			}
		}
		if err := os.RemoveAll(filepath.Join(taskDir, "tmp")); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(hostDir, filepath.Join(taskDir, "tmp")); err != nil {
			t.Fatal(err)
		}
		req := &PrestartRequest{Task: &structs.Task{Name: "vm", Artifacts: []*structs.TaskArtifact{{GetterSource: srv.URL + "/disk.qcow2"}}}}
		if err := h.Prestart(context.Background(), req, &PrestartResponse{TaskDir: taskDir}); err == nil {
			t.Error("artifact with tmp -> host dir: got nil error")
		}
		entries, _ := os.ReadDir(hostDir)
		for _, e := range entries {
			if e.Name() != "shadow" && e.Name() != "granted" {
				t.Errorf("the host dir got %s", e.Name())
			}
		}
	})

	t.Run("fetched once across restarts", func(t *testing.T) {
		taskDir := t.TempDir()
		h := newArtifactHook(cfg)
		req := &PrestartRequest{Task: &structs.Task{Name: "vm", Artifacts: []*structs.TaskArtifact{{GetterSource: srv.URL + "/disk.qcow2"}}}}
		before := hits.Load()
		for i := 0; i < 2; i++ {
			if err := h.Prestart(context.Background(), req, &PrestartResponse{TaskDir: taskDir}); err != nil {
				t.Fatalf("Prestart %d: %v", i, err)
			}
		}
		if got := hits.Load() - before; got != 1 {
			t.Errorf("server hit %d times for two starts, want 1", got)
		}
	})
}

// linkTar builds a tar of entries {name, what}: name ending in "/" is a
// directory, what "=body" a file, else a symlink to what.
func linkTar(t *testing.T, entries [][2]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e[0], Mode: 0o755}
		body, isFile := strings.CutPrefix(e[1], "=")
		switch {
		case strings.HasSuffix(e[0], "/"):
			h.Typeflag = tar.TypeDir
		case isFile:
			h.Typeflag, h.Size = tar.TypeReg, int64(len(body))
		default:
			h.Typeflag, h.Linkname = tar.TypeSymlink, e[1]
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if isFile {
			if _, err := tw.Write([]byte(body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
