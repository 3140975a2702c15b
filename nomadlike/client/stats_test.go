package client

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

func writeTemp(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestHostMemory(t *testing.T) {
	cases := []struct {
		name    string
		in      string
		want    *structs.HostMemoryStats
		wantErr bool
	}{
		{"with MemAvailable", "MemTotal: 1000 kB\nMemFree: 100 kB\nMemAvailable: 600 kB\nBuffers: 1 kB\n",
			&structs.HostMemoryStats{Total: 1000 << 10, Free: 100 << 10, Available: 600 << 10, Used: 400 << 10}, false},
		{"old kernel without MemAvailable", "MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 50 kB\nCached: 250 kB\n",
			&structs.HostMemoryStats{Total: 1000 << 10, Free: 100 << 10, Available: 400 << 10, Used: 600 << 10}, false},
		{"no total", "MemFree: 1 kB\n", nil, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := hostMemory(writeTemp(t, c.in))
			if (err != nil) != c.wantErr {
				t.Fatalf("hostMemory error = %v, want error %v", err, c.wantErr)
			}
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("hostMemory (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCPURates(t *testing.T) {
	before := "cpu  10 0 10 80 0 0 0 0 0 0\ncpu0 10 0 10 80 0 0 0 0 0 0\ncpu1 0 0 0 100 0 0 0 0 0 0\nintr 5\n"
	after := "cpu  70 0 30 100 0 0 0 0 0 0\ncpu0 60 0 20 120 0 0 0 0 0 0\ncpu1 0 0 0 200 0 0 0 0 0 0\nintr 9\n"
	b, err := readCPUTimes(writeTemp(t, before))
	if err != nil {
		t.Fatal(err)
	}
	a, err := readCPUTimes(writeTemp(t, after))
	if err != nil {
		t.Fatal(err)
	}
	want := []*structs.HostCPUStats{
		{CPU: "cpu0", User: 50, System: 10, Idle: 40},
		{CPU: "cpu1", User: 0, System: 0, Idle: 100},
	}
	if diff := cmp.Diff(want, cpuRates(b, a)); diff != "" {
		t.Errorf("cpuRates (-want +got):\n%s", diff)
	}
	if _, err := readCPUTimes(writeTemp(t, "intr 5\n")); err == nil {
		t.Errorf("readCPUTimes without cpuN lines: nil error")
	}
}

func TestHostUptime(t *testing.T) {
	cases := []struct {
		in      string
		want    uint64
		wantErr bool
	}{
		{"12345.67 999.0\n", 12345, false},
		{"", 0, true},
		{"abc 1\n", 0, true},
	}
	for _, c := range cases {
		got, err := hostUptime(writeTemp(t, c.in))
		if (err != nil) != c.wantErr || got != c.want {
			t.Errorf("hostUptime(%q) = %d, %v; want %d, error %v", c.in, got, err, c.want, c.wantErr)
		}
	}
}
