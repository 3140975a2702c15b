package command

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestNormaliseArgsAllocExec(t *testing.T) {
	cases := []struct {
		name string
		in   []string
		want []string
	}{
		{"command flags are left alone",
			[]string{"alloc", "exec", "-task", "web", "abc", "ls", "-la", "-color"},
			[]string{"alloc", "exec", "--task", "web", "abc", "ls", "-la", "-color"}},
		{"global flags before",
			[]string{"-address", "http://x", "alloc", "exec", "-i", "-t", "abc", "sh", "-lc", "echo"},
			[]string{"--address", "http://x", "alloc", "exec", "-i", "-t", "abc", "sh", "-lc", "echo"}},
		{"flag with =",
			[]string{"alloc", "exec", "-task=web", "abc", "top", "-bn1"},
			[]string{"alloc", "exec", "--task=web", "abc", "top", "-bn1"}},
		{"other commands are normalised",
			[]string{"alloc", "logs", "-stderr", "abc", "-tail"},
			[]string{"alloc", "logs", "--stderr", "abc", "--tail"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if diff := cmp.Diff(c.want, normaliseArgs(c.in)); diff != "" {
				t.Errorf("normaliseArgs (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFormatBytes(t *testing.T) {
	cases := []struct {
		in   uint64
		want string
	}{{0, "0 B"}, {1023, "1023 B"}, {1024, "1.0 KiB"}, {1536 << 10, "1.5 MiB"}, {3 << 30, "3.0 GiB"}}
	for _, c := range cases {
		if got := formatBytes(c.in); got != c.want {
			t.Errorf("formatBytes(%d) = %q, want %q", c.in, got, c.want)
		}
	}
}
