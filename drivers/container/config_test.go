package container

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

func TestParseConfig(t *testing.T) {
	full := map[string]any{
		"image": "docker.io/library/nginx:1.27", "command": "/usr/sbin/nginx", "args": []any{"-g", "daemon off;"},
		"entrypoint": []any{"/docker-entrypoint.sh"}, "ports": []any{"http"},
		"volumes": []any{"local/site:/usr/share/nginx/html:ro", "data:/data"}, "hostname": "web",
		"work_dir": "/", "user": "nobody", "cap_add": []any{"net_admin"}, "cap_drop": []any{"CAP_CHOWN"},
		"readonly_rootfs": true, "force_pull": false, "cpu_hard_limit": true, "cpu_cfs_period": 50000, "pids_limit": 100,
	}
	got, err := parseConfig(full)
	if err != nil {
		t.Fatalf("parseConfig(every key) = %v", err)
	}
	want := &taskConfig{
		Image:   imageSource{Kind: sourceRegistry, Ref: "index.docker.io/library/nginx:1.27"},
		Command: "/usr/sbin/nginx", Args: []string{"-g", "daemon off;"}, Entrypoint: []string{"/docker-entrypoint.sh"},
		Ports:    []string{"http"},
		Volumes:  []volume{{Host: "local/site", Container: "/usr/share/nginx/html", ReadOnly: true}, {Host: "data", Container: "/data"}},
		Hostname: "web", WorkDir: "/", User: "nobody", CapAdd: []string{"net_admin"}, CapDrop: []string{"CAP_CHOWN"},
		ReadonlyRootfs: true, CPUHardLimit: true, CPUCFSPeriod: 50000, PidsLimit: 100,
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(imageSource{})); diff != "" {
		t.Errorf("parseConfig (-want +got):\n%s", diff)
	}

	cases := []struct {
		name    string
		cfg     map[string]any
		wantErr string
	}{
		{"minimal", map[string]any{"image": "busybox"}, ""},
		{"missing image", map[string]any{"command": "x"}, "config.image: required"},
		{"empty image", map[string]any{"image": " "}, "config.image: must not be empty"},
		{"image not string", map[string]any{"image": 3}, "config.image: must be a string"},
		{"relative layout", map[string]any{"image": "oci-layout://rel/path"}, "must be absolute"},
		{"unknown scheme", map[string]any{"image": "ftp:///x"}, `unknown source "ftp"`},
		{"args not list", map[string]any{"image": "busybox", "args": "a b"}, "config.args: must be a list of strings"},
		{"entrypoint not list", map[string]any{"image": "busybox", "entrypoint": "sh"}, "config.entrypoint: must be a list"},
		{"ports not list", map[string]any{"image": "busybox", "ports": "http"}, "config.ports: must be a list"},
		{"bad volume", map[string]any{"image": "busybox", "volumes": []any{"nocolon"}}, "config.volumes[0]"},
		{"relative container path", map[string]any{"image": "busybox", "volumes": []any{"a:b"}}, "must be absolute"},
		{"bad volume mode", map[string]any{"image": "busybox", "volumes": []any{"a:/b:rx"}}, `mode "rx"`},
		{"bad hostname", map[string]any{"image": "busybox", "hostname": "a b"}, "config.hostname"},
		{"relative work_dir", map[string]any{"image": "busybox", "work_dir": "srv"}, "config.work_dir"},
		{"user not string", map[string]any{"image": "busybox", "user": 0}, "config.user: must be a string"},
		{"unknown cap", map[string]any{"image": "busybox", "cap_add": []any{"FLY"}}, `config.cap_add: unknown capability "FLY"`},
		{"bad cap_drop", map[string]any{"image": "busybox", "cap_drop": []any{1}}, "config.cap_drop: must be a list"},
		{"readonly not bool", map[string]any{"image": "busybox", "readonly_rootfs": "yes"}, "config.readonly_rootfs: must be true or false"},
		{"force_pull not bool", map[string]any{"image": "busybox", "force_pull": 1}, "config.force_pull"},
		{"pids_limit zero", map[string]any{"image": "busybox", "pids_limit": 0}, "config.pids_limit: must be a positive number"},
		{"pids_limit not number", map[string]any{"image": "busybox", "pids_limit": "many"}, "config.pids_limit: must be a positive number"},
		{"cpu_hard_limit not bool", map[string]any{"image": "busybox", "cpu_hard_limit": "x"}, "config.cpu_hard_limit"},
		{"cfs period range", map[string]any{"image": "busybox", "cpu_cfs_period": 10}, "config.cpu_cfs_period"},
		{"docker-only key", map[string]any{"image": "busybox", "privileged": true}, "config.privileged: docker driver key not supported by the container driver: privileged containers are not supported"},
		{"network_mode of docker's own", map[string]any{"image": "busybox", "network_mode": "container:web"}, `config.network_mode: "container:web" is not supported`},
		{"labels not strings", map[string]any{"image": "busybox", "labels": map[string]any{"a": 1}}, `config.labels: "a" must be a string`},
		{"unknown key", map[string]any{"image": "busybox", "imagee": "x"}, "config.imagee: unknown key"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := parseConfig(c.cfg)
			if c.wantErr == "" {
				if err != nil {
					t.Fatalf("parseConfig = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("parseConfig = %v, want error containing %q", err, c.wantErr)
			}
			var ve *structs.ValidationError
			if !errors.As(err, &ve) {
				t.Errorf("error %T is not a *structs.ValidationError", err)
			}
		})
	}
}

func TestParseImage(t *testing.T) {
	cases := []struct {
		in      string
		want    imageSource
		wantErr string
	}{
		{"busybox", imageSource{Kind: sourceRegistry, Ref: "index.docker.io/library/busybox:latest"}, ""},
		{"docker.io/library/nginx:1.27", imageSource{Kind: sourceRegistry, Ref: "index.docker.io/library/nginx:1.27"}, ""},
		{"127.0.0.1:5000/app@sha256:" + strings.Repeat("a", 64), imageSource{Kind: sourceRegistry, Ref: "127.0.0.1:5000/app@sha256:" + strings.Repeat("a", 64)}, ""},
		{"oci-layout:///srv/img", imageSource{Kind: sourceOCILayout, Path: "/srv/img"}, ""},
		{"oci-layout:///srv/img:v1", imageSource{Kind: sourceOCILayout, Path: "/srv/img", Ref: "v1"}, ""},
		{"oci-layout:///srv/img@sha256:abc", imageSource{Kind: sourceOCILayout, Path: "/srv/img", Ref: "sha256:abc"}, ""},
		{"oci-archive:///srv/img.tar", imageSource{Kind: sourceOCIArchive, Path: "/srv/img.tar"}, ""},
		{"docker-archive:///srv/img.tar:app:1", imageSource{Kind: sourceDockerArchive, Path: "/srv/img.tar", Ref: "app:1"}, ""},
		{"rootfs:///srv/root:fs", imageSource{Kind: sourceRootfs, Path: "/srv/root:fs"}, ""},
		{"rootfs://srv", imageSource{}, "must be absolute"},
		{"rootfs:///", imageSource{}, "below /"},
		{"Not A Ref!", imageSource{}, "not a valid registry reference"},
		{"", imageSource{}, "image is empty"},
		{"s3:///bucket", imageSource{}, "unknown source"},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			got, err := parseImage(c.in)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("parseImage(%q) = %+v, %v; want error containing %q", c.in, got, err, c.wantErr)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("parseImage(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
			}
		})
	}
}

func TestArgvAndEnv(t *testing.T) {
	img := imageConfig{Entrypoint: []string{"/entry"}, Cmd: []string{"serve", "--x"}}
	cases := []struct {
		name string
		tc   taskConfig
		img  imageConfig
		want []string
	}{
		{"image defaults", taskConfig{}, img, []string{"/entry", "serve", "--x"}},
		{"command replaces cmd", taskConfig{Command: "run", Args: []string{"a"}}, img, []string{"/entry", "run", "a"}},
		{"args alone replace cmd", taskConfig{Args: []string{"a"}}, img, []string{"/entry", "a"}},
		{"entrypoint drops image cmd", taskConfig{Entrypoint: []string{"/sh"}}, img, []string{"/sh"}},
		{"entrypoint and command", taskConfig{Entrypoint: []string{"/sh", "-c"}, Command: "echo"}, img, []string{"/sh", "-c", "echo"}},
		{"cmd only image", taskConfig{}, imageConfig{Cmd: []string{"sh"}}, []string{"sh"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := argv(&c.tc, c.img)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("argv (-want +got):\n%s", diff)
			}
		})
	}
	if _, err := argv(&taskConfig{}, imageConfig{}); err == nil || !strings.Contains(err.Error(), "config.command: required") {
		t.Errorf("argv with nothing to run = %v, want config.command required", err)
	}

	env := containerEnv([]string{"PATH=/img/bin", "A=image", "B=image"}, map[string]string{"PATH": "/host/bin", "A": "task", "NOMAD_TASK_DIR": "/host/alloc/web/local"})
	wantEnv := []string{"A=task", "B=image", "NOMAD_ALLOC_DIR=/alloc", "NOMAD_SECRETS_DIR=/secrets", "NOMAD_TASK_DIR=/local", "PATH=/img/bin"}
	if diff := cmp.Diff(wantEnv, env); diff != "" {
		t.Errorf("containerEnv (-want +got):\n%s", diff)
	}
}

func TestCapabilities(t *testing.T) {
	cases := []struct {
		name    string
		tc      taskConfig
		allow   []string
		want    []string
		wantErr string
	}{
		{"defaults", taskConfig{}, defaultCaps, defaultCaps, ""},
		{"drop all add one", taskConfig{CapDrop: []string{"ALL"}, CapAdd: []string{"chown"}}, defaultCaps, []string{"CAP_CHOWN"}, ""},
		{"drop one", taskConfig{CapDrop: []string{"CHOWN"}}, defaultCaps, without(defaultCaps, "CAP_CHOWN"), ""},
		{"no NET_RAW by default", taskConfig{}, defaultCaps, without(defaultCaps, "CAP_NET_RAW"), ""},
		{"NET_RAW not allowed by default", taskConfig{CapAdd: []string{"NET_RAW"}}, defaultCaps, nil, `CAP_NET_RAW is not allowed on this client; a client operator can allow it with plugin "container" { config { allow_caps = [..., "NET_RAW"] } }`},
		{"NET_RAW where allowed", taskConfig{CapAdd: []string{"net_raw"}}, append([]string{"NET_RAW"}, defaultCaps...), slices.Sorted(slices.Values(append([]string{"CAP_NET_RAW"}, defaultCaps...))), ""},
		{"add not allowed", taskConfig{CapAdd: []string{"SYS_ADMIN"}}, defaultCaps, nil, "CAP_SYS_ADMIN is not allowed on this client"},
		{"add allowed", taskConfig{CapDrop: []string{"all"}, CapAdd: []string{"SYS_TIME"}}, []string{"SYS_TIME"}, []string{"CAP_SYS_TIME"}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := capabilities(&c.tc, c.allow)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("capabilities = %v, %v; want error %q", got, err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("capabilities (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPidsLimit(t *testing.T) {
	for _, c := range []struct {
		task, client, want int64
		wantErr            string
	}{
		{0, DefaultPidsLimit, DefaultPidsLimit, ""},
		{100, DefaultPidsLimit, 100, ""},
		{0, -1, 0, ""},
		{100000, -1, 100000, ""},
		{5000, DefaultPidsLimit, 0, `config.pids_limit: 5000 is above this client's limit of 4096 processes per container; lower it, or have an operator raise plugin "container" { config { pids_limit } }`},
	} {
		got, err := pidsLimit(c.task, c.client)
		if c.wantErr != "" {
			if err == nil || err.Error() != c.wantErr {
				t.Errorf("pidsLimit(%d, %d) = %d, %v; want error %q", c.task, c.client, got, err, c.wantErr)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("pidsLimit(%d, %d) = %d, %v; want %d", c.task, c.client, got, err, c.want)
		}
	}
}

func without(l []string, drop string) []string {
	var out []string
	for _, e := range l {
		if e != drop {
			out = append(out, e)
		}
	}
	return out
}

func TestParseDockerLabelsAndNetworkMode(t *testing.T) {
	tc, err := parseConfig(map[string]any{"image": "busybox", "network_mode": "bridge",
		"labels": []any{map[string]any{"team": "a"}, map[string]any{"tier": "web"}}})
	if err != nil {
		t.Fatal(err)
	}
	if tc.NetworkMode != "bridge" || tc.Labels["team"] != "a" || tc.Labels["tier"] != "web" {
		t.Errorf("got network_mode %q labels %v", tc.NetworkMode, tc.Labels)
	}
}

func TestParseExecConfig(t *testing.T) {
	tc, err := parseExecConfig(map[string]any{"command": "/bin/sleep", "args": []any{"10"}, "pid_mode": "private", "cap_drop": []any{"all"}})
	if err != nil {
		t.Fatal(err)
	}
	if tc.Command != "/bin/sleep" || len(tc.Args) != 1 {
		t.Errorf("got %+v", tc)
	}
	for _, c := range []struct {
		cfg  map[string]any
		want string
	}{
		{map[string]any{"args": []any{"x"}}, "config.command: required"},
		{map[string]any{"command": "x", "pid_mode": "host"}, `config.pid_mode: "host" is not supported`},
		{map[string]any{"command": "x", "image": "busybox"}, "config.image: unknown key: the exec driver accepts command, args"},
		{map[string]any{"command": "x", "work_dir": "rel"}, `config.work_dir: "rel" must be an absolute path`},
	} {
		if _, err := parseExecConfig(c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: got %v, want %q", c.cfg, err, c.want)
		}
	}
}

func TestAliasFingerprint(t *testing.T) {
	d := New(Config{Enabled: true, CacheDir: t.TempDir()}, nil)
	for _, named := range []interface {
		Name() string
		Fingerprint(context.Context) *structs.DriverInfo
	}{d.Alias("docker"), d.Exec(nil)} {
		info := named.Fingerprint(t.Context())
		for k := range info.Attributes {
			if strings.HasPrefix(k, "driver.container") {
				t.Errorf("%s: attribute %s not renamed", named.Name(), k)
			}
		}
		if _, ok := info.Attributes["driver."+named.Name()+".version"]; !ok {
			t.Errorf("%s: attributes %v lack driver.%s.version", named.Name(), info.Attributes, named.Name())
		}
	}
}
