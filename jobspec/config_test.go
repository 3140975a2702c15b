package jobspec

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestConfigDecoding(t *testing.T) {
	tests := []struct {
		name string
		body string
		want map[string]any
	}{
		{
			name: "scalars",
			body: `s = "x"
i = 3
neg = -7
f = 1.25
big = 1e3
b = false`,
			want: map[string]any{"s": "x", "i": 3, "neg": -7, "f": 1.25, "big": 1000, "b": false},
		},
		{
			name: "collections",
			body: `l = [1, "two", true]
m = { a = 1, b = ["x"] }
empty = []`,
			want: map[string]any{
				"l":     []any{1, "two", true},
				"m":     map[string]any{"a": 1, "b": []any{"x"}},
				"empty": []any{},
			},
		},
		{
			name: "nested blocks are always lists",
			body: `logging {
  type = "json"
  config {
    max = 2
  }
}`,
			want: map[string]any{
				"logging": []any{map[string]any{
					"type":   "json",
					"config": []any{map[string]any{"max": 2}},
				}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := fmt.Sprintf("job \"c\" {\n group \"g\" {\n  task \"t\" {\n   driver = \"raw_exec\"\n   config {\n%s\n}\n}\n}\n}\n", tt.body)
			job, err := Parse("c.hcl", []byte(src))
			if err != nil {
				t.Fatalf("Parse: got error %v, want none", err)
			}
			if diff := cmp.Diff(tt.want, job.TaskGroups[0].Tasks[0].Config); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
		})
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"labelled block", "mount \"x\" {\n}", `c.hcl:6:7: Unsupported config block: config block "mount" has a label`},
		{"attribute and block", "port = 1\nport {\n}", `c.hcl:7:1: Duplicate config key: "port" is set both as an argument and as a block`},
		{"bad function", "x = uper(\"a\")", `c.hcl:6:5: Call to unknown function: There is no function named "uper". Did you mean "upper"?`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := fmt.Sprintf("job \"c\" {\n group \"g\" {\n  task \"t\" {\n   driver = \"raw_exec\"\n   config {\n%s\n}\n}\n}\n}\n", tt.body)
			_, err := Parse("c.hcl", []byte(src))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got error\n%v\nwant it to contain\n%s", err, tt.want)
			}
		})
	}
}

func TestEncodingFunctions(t *testing.T) {
	tests := []struct{ expr, want string }{
		{`base64encode("hi")`, "aGk="},
		{`base64decode("aGk=")`, "hi"},
		{`urlencode("a b&c")`, "a+b%26c"},
		{`md5("a")`, "0cc175b9c0f1b6a831c399e269772661"},
		{`sha1("a")`, "86f7e437faa5a7fce15d1ddcb9eaeaea377667b8"},
		{`sha256("a")`, "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"},
		{`reverse("abc")`, "cba"},
		{`length("héllo")`, "5"},
		{`length([1, 2])`, "2"},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			src := fmt.Sprintf("job \"f\" {\n meta = { v = %s }\n group \"g\" {\n  task \"t\" {\n   driver = \"raw_exec\"\n  }\n }\n}\n", tt.expr)
			job, err := Parse("f.hcl", []byte(src))
			if err != nil {
				t.Fatalf("Parse: got error %v, want none", err)
			}
			if got := job.Meta["v"]; got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
