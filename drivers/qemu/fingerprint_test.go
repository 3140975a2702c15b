package qemu

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseVersion(t *testing.T) {
	cases := []struct {
		out  string
		want string
		ok   bool
	}{
		{"QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)\nCopyright (c) 2003-2022 Fabrice Bellard\n", "7.2.22", true},
		{"QEMU emulator version 9.0.0\n", "9.0.0", true},
		{"bash: not qemu\n", "", false},
	}
	for _, c := range cases {
		got, ok := parseVersion([]byte(c.out))
		if got != c.want || ok != c.ok {
			t.Errorf("parseVersion(%q) = %q, %v; want %q, %v", c.out, got, ok, c.want, c.ok)
		}
	}
}

func TestIsNested(t *testing.T) {
	cases := []struct {
		cpuinfo string
		want    bool
	}{
		{"processor\t: 0\nflags\t\t: fpu vme hypervisor lahf_lm\n", true},
		{"processor\t: 0\nflags\t\t: fpu vme vmx lahf_lm\n", false},
		{"", false},
	}
	for _, c := range cases {
		if got := isNested([]byte(c.cpuinfo)); got != c.want {
			t.Errorf("isNested(%q) = %v, want %v", c.cpuinfo, got, c.want)
		}
	}
}

func TestProbeKVMErrors(t *testing.T) {
	dir := t.TempDir()
	notKVM := filepath.Join(dir, "not-kvm")
	if err := os.WriteFile(notKVM, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct{ dev, want string }{
		{filepath.Join(dir, "kvm"), "does not exist: load the kvm module"},
		{notKVM, "KVM_GET_API_VERSION on " + notKVM},
	}
	for _, c := range cases {
		wantErr(t, probeKVM(c.dev), c.want)
	}
}

// fakeEmulator writes a script that answers --version like QEMU.
func fakeEmulator(t *testing.T, version string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "qemu-system-x86_64")
	script := "#!/bin/sh\necho 'QEMU emulator version " + version + " (fake)'\n"
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestFingerprint(t *testing.T) {
	noKVM := filepath.Join(t.TempDir(), "kvm")
	cases := []struct {
		name        string
		emulator    string
		wantHealthy bool
		wantDesc    string
		wantAttrs   map[string]string
	}{
		{"qemu present, no kvm", fakeEmulator(t, "8.1.2"), true, "Healthy", map[string]string{
			"driver.qemu": "1", "driver.qemu.version": "8.1.2", "driver.qemu.kvm": "false", "driver.qemu.accelerator": "tcg"}},
		{"qemu missing", filepath.Join(t.TempDir(), "qemu-system-x86_64"), false, "not found", map[string]string{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := New(Config{Emulator: c.emulator, KVMDevice: noKVM}, testLogger(t))
			info := d.Fingerprint(context.Background())
			if info.Healthy != c.wantHealthy || info.Detected != c.wantHealthy {
				t.Errorf("Healthy, Detected = %v, %v; want %v", info.Healthy, info.Detected, c.wantHealthy)
			}
			if !strings.Contains(info.HealthDescription, c.wantDesc) {
				t.Errorf("HealthDescription = %q, want it to contain %q", info.HealthDescription, c.wantDesc)
			}
			if diff := cmp.Diff(c.wantAttrs, info.Attributes); diff != "" {
				t.Errorf("Attributes (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("missing qemu says how to install it", func(t *testing.T) {
		d := New(Config{Emulator: filepath.Join(t.TempDir(), "qemu-system-x86_64"), KVMDevice: noKVM}, nil)
		info := d.Fingerprint(context.Background())
		wantErr(t, errorString(info.HealthDescription), "install QEMU (Debian: apt-get install qemu-system-x86)")
	})
}

type errorString string

func (e errorString) Error() string { return string(e) }

func TestDefaultAccel(t *testing.T) {
	cases := []struct {
		kvm, nested bool
		want        string
	}{
		{true, false, accelKVM},
		{true, true, accelTCG},
		{false, false, accelTCG},
	}
	for _, c := range cases {
		f := &fingerprint{KVM: c.kvm, Nested: c.nested}
		if got := f.defaultAccel(); got != c.want {
			t.Errorf("defaultAccel(kvm=%v, nested=%v) = %q, want %q", c.kvm, c.nested, got, c.want)
		}
	}
}
