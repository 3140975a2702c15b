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
		"/disk.qcow2":   disk,
		"/app.tar.gz":   tarball(t, true, map[string]string{"bin/app": "#!/bin/sh\n", "README": "hi"}),
		"/app.tar":      tarball(t, false, map[string]string{"data.txt": "plain tar"}),
		"/app.zip":      zipball(t, map[string]string{"conf/app.conf": "zipped"}),
		"/slip.zip":     zipball(t, map[string]string{"../../evil": "x"}),
		"/slip.tar":     tarball(t, false, map[string]string{"../evil": "x"}),
		"/private.bin":  []byte("secret"),
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
			wantErr: `destination "../../etc" escapes the task dir`, wantPermanent: true},
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
		{name: "unsupported getter", a: structs.TaskArtifact{GetterSource: "git::https://example.com/repo"},
			wantErr: `getter "git" is not supported by nomadlike`, wantPermanent: true},
		{name: "unsupported option", a: structs.TaskArtifact{GetterSource: srv.URL + "/disk.qcow2", GetterOptions: map[string]string{"depth": "1"}},
			wantErr: `option "depth" is not supported`, wantPermanent: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			taskDir := t.TempDir()
			h := newArtifactHook()
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

	t.Run("fetched once across restarts", func(t *testing.T) {
		taskDir := t.TempDir()
		h := newArtifactHook()
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
