package command

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestNormaliseArgs(t *testing.T) {
	tests := []struct {
		name string
		in   []string
		want []string
	}{
		{"long flag with value", []string{"job", "status", "-address=http://x:1"}, []string{"job", "status", "--address=http://x:1"}},
		{"long bool flag", []string{"job", "run", "-detach", "a.hcl"}, []string{"job", "run", "--detach", "a.hcl"}},
		{"long flag, separate value", []string{"-namespace", "prod", "job", "status"}, []string{"--namespace", "prod", "job", "status"}},
		{"single letter stays shorthand", []string{"alloc", "logs", "-f", "-n=5", "ab"}, []string{"alloc", "logs", "-f", "-n=5", "ab"}},
		{"double dash untouched", []string{"--verbose", "--json"}, []string{"--verbose", "--json"}},
		{"stdin dash untouched", []string{"job", "run", "-"}, []string{"job", "run", "-"}},
		{"stops after --", []string{"-verbose", "--", "-detach"}, []string{"--verbose", "--", "-detach"}},
		{"var with equals in value", []string{"-var=a=b"}, []string{"--var=a=b"}},
		{"empty", []string{}, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := normaliseArgs(tt.in)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("normaliseArgs(%q) mismatch (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}
