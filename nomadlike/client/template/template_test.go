package template

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// testDirs makes <tmp>/<alloc>/{web/local,alloc} and returns the task dir
// and the shared alloc dir.
func testDirs(t *testing.T) (taskDir, shared string) {
	t.Helper()
	root := t.TempDir()
	taskDir, shared = filepath.Join(root, "web"), filepath.Join(root, "alloc")
	for _, d := range []string{filepath.Join(taskDir, "local"), filepath.Join(taskDir, "secrets"), shared} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return taskDir, shared
}

var testEnv = map[string]string{
	"NOMAD_ALLOC_ID":   "8d4f0a52-1c3e-4b7a-9f1e-2a6b3c4d5e6f",
	"NOMAD_TASK_DIR":   "/ignored",
	"GREETING":         "hello",
	"PORTS":            "80,443",
	"node.unique.name": "n1",
	"attr.kernel.name": "linux",
	"meta.rack":        "r7",
}

func testConfig(taskDir, shared string, tmpl *structs.Template) Config {
	if tmpl.DestPath == "" {
		tmpl.DestPath = "local/out.conf"
	}
	return Config{
		Template: tmpl, TaskDir: taskDir, SharedDir: shared,
		Env: func(name string) (string, bool) { v, ok := testEnv[name]; return v, ok },
		Interpolate: func(s string) string {
			return strings.ReplaceAll(s, "${NOMAD_SECRETS_DIR}", filepath.Join(taskDir, "secrets"))
		},
		Now: func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) },
	}
}

func TestRender(t *testing.T) {
	cases := []struct {
		name, data  string
		left, right string
		want        string
	}{
		{"plain text", "listen 8080\n", "", "", "listen 8080\n"},
		{"env of the task", `id={{ env "NOMAD_ALLOC_ID" }} g={{ env "GREETING" }}`, "", "", "id=8d4f0a52-1c3e-4b7a-9f1e-2a6b3c4d5e6f g=hello"},
		{"env of node keys", `{{ env "node.unique.name" }}/{{ env "attr.kernel.name" }}/{{ env "meta.rack" }}`, "", "", "n1/linux/r7"},
		{"unknown env is empty", `[{{ env "NOPE" }}]`, "", "", "[]"},
		{"envOrDefault", `{{ envOrDefault "NOPE" "dflt" }} {{ envOrDefault "GREETING" "x" }}`, "", "", "dflt hello"},
		{"custom delimiters", `[[ env "GREETING" ]] {{ keep }}`, "[[", "]]", "hello {{ keep }}"},
		{"string helpers", `{{ env "GREETING" | toUpper }} {{ "a-b-c" | replaceAll "-" "_" }} {{ "  x " | trimSpace }} {{ "ab" | trimPrefix "a" }}`, "", "", "HELLO a_b_c x b"},
		{"split and range", `{{ range env "PORTS" | split "," }}port {{ . }};{{ end }}`, "", "", "port 80;port 443;"},
		{"join", `{{ env "PORTS" | split "," | join "+" }}`, "", "", "80+443"},
		{"contains and in", `{{ env "GREETING" | contains "ell" }} {{ in (env "PORTS" | split ",") "443" }}`, "", "", "true true"},
		{"json", `{{ with parseJSON "{\"a\":{\"b\":[1,2]}}" }}{{ .a.b }}{{ end }} {{ parseJSON "[1]" | toJSON }}`, "", "", "[1 2] [1]"},
		{"math, piped value first", `{{ 2 | add 3 }} {{ 10 | subtract 4 }} {{ 3 | multiply 4 }} {{ 9 | divide 2 }} {{ 9 | modulo 4 }} {{ 1.5 | add 1 }}`, "", "", "5 6 12 4 1 2.5"},
		{"loop", `{{ range loop 3 }}{{ . }}{{ end }} {{ range loop 2 4 }}{{ . }}{{ end }}`, "", "", "012 23"},
		{"timestamp", `{{ timestamp }} {{ timestamp "2006-01-02" }} {{ timestamp "unix" }}`, "", "", "2026-01-02T03:04:05Z 2026-01-02 1767323045"},
		{"encodings", `{{ "hi" | base64Encode }} {{ "aGk=" | base64Decode }} {{ "x" | sha256Hex | printf "%.8s" }}`, "", "", "aGk= hi 2d711642"},
		{"regex", `{{ "v1.2.3" | regexReplaceAll "^v" "" }} {{ "abc" | regexMatch "^a" }}`, "", "", "1.2.3 true"},
		{"parse numbers", `{{ "42" | parseInt | add 1 }} {{ "true" | parseBool }}`, "", "", "43 true"},
		{"indent", `{{ "a\nb" | indent 2 }}`, "", "", "  a\n  b"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			taskDir, shared := testDirs(t)
			r, err := Render(testConfig(taskDir, shared, &structs.Template{EmbeddedTmpl: tc.data, LeftDelim: tc.left, RightDelim: tc.right}))
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			if got := string(r.Content); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestRenderErrors(t *testing.T) {
	cases := []struct {
		name    string
		tmpl    structs.Template
		want    string // the whole error text
		line    int
		consul  bool
		setupFn func(t *testing.T, taskDir string)
	}{
		{name: "syntax error with its line", tmpl: structs.Template{EmbeddedTmpl: "a\nb\n{{ if }}\n", DestPath: "local/app.conf"},
			want: `template "local/app.conf": line 3: missing value for if`, line: 3},
		{name: "unclosed action", tmpl: structs.Template{EmbeddedTmpl: "ok\n{{ env \"X\" \n", DestPath: "local/app.conf"},
			want: `template "local/app.conf": line 2: unclosed action`, line: 2},
		{name: "undefined function", tmpl: structs.Template{EmbeddedTmpl: "{{ nope }}", DestPath: "local/a"},
			want: `template "local/a": line 1: function "nope" not defined`, line: 1},
		{name: "Consul key refused with its line", tmpl: structs.Template{EmbeddedTmpl: "a\n\nb = {{ key \"app/b\" }}\n", DestPath: "local/app.conf"},
			want: `template "local/app.conf": line 3: function "key" reads Consul KV, which nomadlike does not have; render the value into the job (data, env or meta) instead`,
			line: 3, consul: true},
		{name: "Consul service refused in a branch that would not run", tmpl: structs.Template{
			EmbeddedTmpl: "{{ if false }}\n{{ range service \"db\" }}{{ .Address }}{{ end }}\n{{ end }}", DestPath: "local/db"},
			want: `template "local/db": line 2: function "service" reads the Consul catalog, which nomadlike does not have; render the value into the job (data, env or meta) instead`,
			line: 2, consul: true},
		{name: "Vault secret refused", tmpl: structs.Template{EmbeddedTmpl: "{{ with secret \"kv/x\" }}{{ .Data }}{{ end }}", DestPath: "secrets/x"},
			want: `template "secrets/x": line 1: function "secret" reads Vault, which nomadlike does not have; render the value into the job (data, env or meta) instead`,
			line: 1, consul: true},
		{name: "Nomad variable refused", tmpl: structs.Template{EmbeddedTmpl: "x\n{{ with nomadVar \"nomad/jobs/x\" }}{{ .k }}{{ end }}", DestPath: "local/v"},
			want: `template "local/v": line 2: function "nomadVar" reads Nomad Variables, which nomadlike does not have; render the value into the job (data, env or meta) instead`,
			line: 2, consul: true},
		{name: "execution error with its line", tmpl: structs.Template{EmbeddedTmpl: "a\n{{ mustEnv \"MISSING\" }}", DestPath: "local/a"},
			want: `template "local/a": line 2: at <mustEnv "MISSING">: error calling mustEnv: environment variable "MISSING" is not set for this task`, line: 2},
		{name: "destination escapes the task dir", tmpl: structs.Template{EmbeddedTmpl: "x", DestPath: "../../etc/cron.d/evil"},
			want: `template "../../etc/cron.d/evil": destination: "../../etc/cron.d/evil" resolves to `},
		{name: "absolute destination outside", tmpl: structs.Template{EmbeddedTmpl: "x", DestPath: "/etc/passwd"},
			want: `template "/etc/passwd": destination: "/etc/passwd" resolves to /etc/passwd, which is outside the allocation directory`},
		{name: "missing source", tmpl: structs.Template{SourcePath: "local/app.tpl", DestPath: "local/app.conf"},
			want: `template "local/app.conf": source: file `},
		{name: "source outside", tmpl: structs.Template{SourcePath: "/etc/hostname", DestPath: "local/h"},
			want: `template "local/h": source: "/etc/hostname" resolves to /etc/hostname, which is outside the allocation directory`},
		{name: "file outside", tmpl: structs.Template{EmbeddedTmpl: "\n{{ file \"/etc/hostname\" }}", DestPath: "local/h"},
			want: `template "local/h": line 2: at <file "/etc/hostname">: error calling file: "/etc/hostname" resolves to /etc/hostname, which is outside the allocation directory`, line: 2},
		{name: "env = true with a bad line", tmpl: structs.Template{EmbeddedTmpl: "A=1\nnot a pair\n", DestPath: "local/env", Envvars: true},
			want: `template "local/env": env = true: line 2 of the rendered output: "not a pair" is not KEY=VALUE`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			taskDir, shared := testDirs(t)
			tmpl := tc.tmpl
			_, err := Render(testConfig(taskDir, shared, &tmpl))
			if err == nil {
				t.Fatalf("Render: got no error, want %q", tc.want)
			}
			if !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("got error\n%v\nwant it to start with\n%s", err, tc.want)
			}
			var te *Error
			if !errors.As(err, &te) {
				t.Fatalf("got error of type %T, want *template.Error", err)
			}
			if te.Line != tc.line {
				t.Errorf("got line %d, want %d", te.Line, tc.line)
			}
			if got := errors.Is(err, ErrUnavailableFunction); got != tc.consul {
				t.Errorf("errors.Is(err, ErrUnavailableFunction) = %v, want %v", got, tc.consul)
			}
		})
	}
}

func TestRenderSourceAndWrite(t *testing.T) {
	taskDir, shared := testDirs(t)
	if err := os.WriteFile(filepath.Join(taskDir, "local", "app.tpl"), []byte("name={{ env \"node.unique.name\" }}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		tmpl structs.Template
		path string // where the file must land
		want string
		mode os.FileMode
	}{
		{"source in the task dir", structs.Template{SourcePath: "local/app.tpl", DestPath: "local/app.conf"},
			filepath.Join(taskDir, "local", "app.conf"), "name=n1\n", 0o644},
		{"perms and a new subdirectory", structs.Template{EmbeddedTmpl: "s3cr3t", DestPath: "secrets/db/password", Perms: "0600"},
			filepath.Join(taskDir, "secrets", "db", "password"), "s3cr3t", 0o600},
		{"interpolated destination", structs.Template{EmbeddedTmpl: "tok", DestPath: "${NOMAD_SECRETS_DIR}/token"},
			filepath.Join(taskDir, "secrets", "token"), "tok", 0o644},
		{"shared alloc dir", structs.Template{EmbeddedTmpl: "shared", DestPath: "../alloc/shared.conf"},
			filepath.Join(shared, "shared.conf"), "shared", 0o644},
		{"in-task secrets path", structs.Template{EmbeddedTmpl: "in", DestPath: "/secrets/in-task"},
			filepath.Join(taskDir, "secrets", "in-task"), "in", 0o644},
		{"in-task alloc path", structs.Template{EmbeddedTmpl: "a", DestPath: "/alloc/in-task.conf"},
			filepath.Join(shared, "in-task.conf"), "a", 0o644},
		{"another task's dir", structs.Template{EmbeddedTmpl: "o", DestPath: "../sidecar/local/o.conf"},
			filepath.Join(filepath.Dir(taskDir), "sidecar", "local", "o.conf"), "o", 0o644},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tmpl := tc.tmpl
			r, err := Render(testConfig(taskDir, shared, &tmpl))
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			if r.Dest != tc.path {
				t.Errorf("got destination %s, want %s", r.Dest, tc.path)
			}
			if err := r.Write(); err != nil {
				t.Fatalf("Write: %v", err)
			}
			b, err := os.ReadFile(tc.path)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tc.want {
				t.Errorf("got content %q, want %q", b, tc.want)
			}
			fi, err := os.Stat(tc.path)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != tc.mode {
				t.Errorf("got mode %v, want %v", fi.Mode().Perm(), tc.mode)
			}
		})
	}
}

// Symlinks a task planted in the shared alloc dir or another task's dir
// cannot carry a rendered file outside the allocation directory.
func TestWriteRefusesAllocDirSymlinkEscape(t *testing.T) {
	taskDir, shared := testDirs(t)
	outside := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(shared, "link")); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(filepath.Dir(taskDir), "sidecar")
	if err := os.MkdirAll(other, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(other, "local")); err != nil {
		t.Fatal(err)
	}
	for _, dest := range []string{"../alloc/link/evil", "/alloc/link/evil", "../sidecar/local/evil"} {
		r, err := Render(testConfig(taskDir, shared, &structs.Template{EmbeddedTmpl: "x", DestPath: dest}))
		if err != nil {
			t.Fatalf("Render %s: %v", dest, err)
		}
		if err := r.Write(); err == nil {
			t.Errorf("Write %s: got nil error through a planted symlink", dest)
		}
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Errorf("files were written outside the allocation directory: %v", entries)
	}
}

// A symlink placed in the task dir cannot carry a rendered file outside it.
func TestWriteRefusesSymlinkEscape(t *testing.T) {
	taskDir, shared := testDirs(t)
	outside := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(taskDir, "local", "link")); err != nil {
		t.Fatal(err)
	}
	r, err := Render(testConfig(taskDir, shared, &structs.Template{EmbeddedTmpl: "x", DestPath: "local/link/evil"}))
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	err = r.Write()
	if err == nil || !strings.Contains(err.Error(), `template "local/link/evil"`) {
		t.Errorf("Write: got %v, want an error naming the template", err)
	}
	if _, err := os.Stat(filepath.Join(outside, "evil")); err == nil {
		t.Errorf("the rendered file was written through the symlink to %s", outside)
	}
}

func TestRenderEnvTemplate(t *testing.T) {
	taskDir, shared := testDirs(t)
	data := "# comment\nDB_HOST={{ env \"meta.rack\" }}.db\nexport MODE=\"prod\\nline2\"\nEMPTY=\n"
	r, err := Render(testConfig(taskDir, shared, &structs.Template{EmbeddedTmpl: data, DestPath: "local/app.env", Envvars: true}))
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	want := map[string]string{"DB_HOST": "r7.db", "MODE": "prod\nline2", "EMPTY": ""}
	if diff := cmp.Diff(want, r.Env); diff != "" {
		t.Errorf("env (-want +got):\n%s", diff)
	}
}

func TestParseEnv(t *testing.T) {
	cases := []struct {
		name, in string
		want     map[string]string
		err      string
	}{
		{"simple", "A=1\nB=two words\n", map[string]string{"A": "1", "B": "two words"}, ""},
		{"blank lines, comments, CRLF", "\r\n# c\nA=1\r\n\n", map[string]string{"A": "1"}, ""},
		{"export prefix", "export A=1", map[string]string{"A": "1"}, ""},
		{"double quotes with escapes", `A="x \"y\"\tz" # trailing`, map[string]string{"A": "x \"y\"\tz"}, ""},
		{"single quotes literal", `A='$x \n'`, map[string]string{"A": `$x \n`}, ""},
		{"inline comment", "A=1 # one", map[string]string{"A": "1"}, ""},
		{"equals in value", "URL=a=b", map[string]string{"URL": "a=b"}, ""},
		{"later wins", "A=1\nA=2", map[string]string{"A": "2"}, ""},
		{"not a pair", "A=1\nB", nil, `line 2: "B" is not KEY=VALUE`},
		{"bad key", "1A=x", nil, `line 1: "1A" is not a valid variable name`},
		{"unterminated quote", "A=1\nB=\"x", nil, "line 2: value of B: unterminated double quote"},
		{"junk after quote", "A='x' y", nil, `line 1: value of A: unexpected "y" after the closing quote`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseEnv([]byte(tc.in))
			if tc.err != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.err) {
					t.Errorf("got error %v, want one starting with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseEnv: %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("env (-want +got):\n%s", diff)
			}
		})
	}
}

// TestUnchangedNeverFollowsOrBlocks: the comparison with what a template
// destination holds reads neither through a symlink out nor from a FIFO
// the task planted there (which would block the client).
func TestUnchangedNeverFollowsOrBlocks(t *testing.T) {
	taskDir, shared := testDirs(t)
	outside := filepath.Join(t.TempDir(), "same")
	if err := os.WriteFile(outside, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(taskDir, "local", "link")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(taskDir, "local", "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, dest := range []string{"local/link", "local/fifo", "local/missing"} {
		r, err := Render(testConfig(taskDir, shared, &structs.Template{EmbeddedTmpl: "x", DestPath: dest}))
		if err != nil {
			t.Fatalf("Render: %v", err)
		}
		if r.Unchanged() {
			t.Errorf("Unchanged(%s) = true, want false", dest)
		}
	}
	r, err := Render(testConfig(taskDir, shared, &structs.Template{EmbeddedTmpl: "x", DestPath: "local/real"}))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Write(); err != nil {
		t.Fatal(err)
	}
	if !r.Unchanged() {
		t.Error("Unchanged after Write = false, want true")
	}
}
