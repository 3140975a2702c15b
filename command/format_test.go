package command

import (
	"bytes"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestPrettyTimeDiff(t *testing.T) {
	now := testNow
	tests := []struct {
		ago  time.Duration
		want string
	}{
		{0, "0s ago"},
		{12 * time.Second, "12s ago"},
		{190 * time.Second, "3m10s ago"},
		{3 * time.Minute, "3m ago"},
		{2*time.Hour + 5*time.Minute + 9*time.Second, "2h5m ago"},
		{4*24*time.Hour + 3*time.Hour, "4d3h ago"},
		{-5 * time.Second, "in 5s"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := prettyTimeDiff(now.Add(-tt.ago), now); got != tt.want {
				t.Errorf("prettyTimeDiff(now-%s) = %q, want %q", tt.ago, got, tt.want)
			}
		})
	}
	if got := prettyTimeDiff(time.Time{}, now); got != "<none>" {
		t.Errorf("prettyTimeDiff(zero) = %q, want <none>", got)
	}
}

func TestFormatSizes(t *testing.T) {
	tests := []struct {
		got, want string
	}{
		{formatMB(64), "64 MiB"},
		{formatMB(1536), "1.5 GiB"},
		{formatMB(2048), "2 GiB"},
		{formatMB(3 * 1024 * 1024), "3 TiB"},
		{formatMHz(100), "100 MHz"},
		{formatMHz(2400), "2.4 GHz"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func TestWriteTableAndKV(t *testing.T) {
	var b bytes.Buffer
	writeTable(&b, []string{"ID", "Status"}, [][]string{{"ef12ab34", "running"}, {"a", "failed"}})
	want := "ID        Status\nef12ab34  running\na         failed\n"
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("writeTable mismatch (-want +got):\n%s", diff)
	}
	b.Reset()
	writeKV(&b, []kv{{"ID", "x"}, {"Client Status", "running"}})
	want = "ID            = x\nClient Status = running\n"
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("writeKV mismatch (-want +got):\n%s", diff)
	}
}

func TestLastLines(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want []string
	}{
		{"", 10, nil},
		{"a\nb\nc\n", 2, []string{"b", "c"}},
		{"a\nb", 10, []string{"a", "b"}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, lastLines(tt.in, tt.n)); diff != "" {
			t.Errorf("lastLines(%q, %d) mismatch (-want +got):\n%s", tt.in, tt.n, diff)
		}
	}
}
