package fingerprint

import (
	"context"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nomadlike/nomadlike/drivers"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

func TestCPU(t *testing.T) {
	cases := []struct {
		root      string
		wantAttrs map[string]string
		wantShare int64
	}{
		{"testdata/x86", map[string]string{"cpu.numcores": "2", "cpu.frequency": "2450", "cpu.totalcompute": "4900",
			"cpu.arch": runtime.GOARCH, "cpu.modelname": "AMD EPYC 7B13"}, 4900},
		{"testdata/arm", map[string]string{"cpu.numcores": "4", "cpu.frequency": "1800", "cpu.totalcompute": "7200",
			"cpu.arch": runtime.GOARCH}, 7200},
	}
	for _, tc := range cases {
		t.Run(tc.root, func(t *testing.T) {
			attrs, res, err := CPU(tc.root)
			if err != nil {
				t.Fatalf("CPU: %v", err)
			}
			if diff := cmp.Diff(tc.wantAttrs, attrs); diff != "" {
				t.Errorf("attrs (-want +got):\n%s", diff)
			}
			if res.CpuShares != tc.wantShare {
				t.Errorf("CpuShares: got %d, want %d", res.CpuShares, tc.wantShare)
			}
		})
	}
	if _, _, err := CPU(t.TempDir()); err == nil {
		t.Errorf("CPU on an empty root: got nil error, want one naming the missing file")
	}
}

func TestMemory(t *testing.T) {
	cases := []struct {
		root      string
		wantBytes string
		wantMB    int64
	}{
		{"testdata/x86", "25276026880", 24105},
		{"testdata/arm", "3977314304", 3793},
	}
	for _, tc := range cases {
		t.Run(tc.root, func(t *testing.T) {
			attrs, res, err := Memory(tc.root)
			if err != nil {
				t.Fatalf("Memory: %v", err)
			}
			if got := attrs["memory.totalbytes"]; got != tc.wantBytes {
				t.Errorf("memory.totalbytes: got %s, want %s", got, tc.wantBytes)
			}
			if res.MemoryMB != tc.wantMB {
				t.Errorf("MemoryMB: got %d, want %d", res.MemoryMB, tc.wantMB)
			}
		})
	}
}

func TestKernelAndOS(t *testing.T) {
	cases := []struct {
		root                      string
		kernel, osName, osVersion string
	}{
		{"testdata/x86", "6.1.0-18-amd64", "debian", "12"},
		{"testdata/arm", "5.15.0-1034-raspi", "ubuntu", "22.04"},
	}
	for _, tc := range cases {
		t.Run(tc.root, func(t *testing.T) {
			k, err := Kernel(tc.root)
			if err != nil {
				t.Fatalf("Kernel: %v", err)
			}
			if k["kernel.version"] != tc.kernel || k["kernel.name"] != "linux" || k["kernel.arch"] == "" {
				t.Errorf("kernel: got %v, want version %s, name linux and an arch", k, tc.kernel)
			}
			o, err := OS(tc.root)
			if err != nil {
				t.Fatalf("OS: %v", err)
			}
			if diff := cmp.Diff(map[string]string{"os.name": tc.osName, "os.version": tc.osVersion}, o); diff != "" {
				t.Errorf("os (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNetwork(t *testing.T) {
	cases := []struct{ addr, want string }{
		{"127.0.0.1:4646", "127.0.0.1"},
		{"10.1.2.3:4646", "10.1.2.3"},
		{"[::1]:4646", "::1"},
	}
	for _, tc := range cases {
		t.Run(tc.addr, func(t *testing.T) {
			a, err := Network(tc.addr)
			if err != nil {
				t.Fatalf("Network: %v", err)
			}
			if got := a["unique.network.ip-address"]; got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

// fakeDriver reports a fixed fingerprint.
type fakeDriver struct {
	drivers.Driver
	name string
	info *structs.DriverInfo
}

func (f fakeDriver) Name() string                                    { return f.name }
func (f fakeDriver) Fingerprint(context.Context) *structs.DriverInfo { return f.info }

func TestRun(t *testing.T) {
	healthy := &structs.DriverInfo{Detected: true, Healthy: true, Attributes: map[string]string{"driver.good.version": "1"}, UpdateTime: time.Unix(1, 0)}
	sick := &structs.DriverInfo{Detected: true, Healthy: false, HealthDescription: "binary missing"}
	in := Input{Root: "testdata/x86", DataDir: t.TempDir(), HTTPAddr: "127.0.0.1:4646", Version: "0.1.0",
		Drivers: []drivers.Driver{fakeDriver{name: "good", info: healthy}, fakeDriver{name: "bad", info: sick}}}
	r, err := Run(context.Background(), in)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	for k, want := range map[string]string{
		"nomad.version": "0.1.0", "cpu.numcores": "2", "kernel.name": "linux", "os.name": "debian",
		"unique.network.ip-address": "127.0.0.1", "driver.good": "1", "driver.good.version": "1",
	} {
		if got := r.Attributes[k]; got != want {
			t.Errorf("attribute %s: got %q, want %q", k, got, want)
		}
	}
	if _, ok := r.Attributes["driver.bad"]; ok {
		t.Errorf("unhealthy driver advertised as attribute driver.bad")
	}
	if free, _ := strconv.ParseInt(r.Attributes["unique.storage.bytesfree"], 10, 64); free <= 0 || r.Resources.Disk.DiskMB < 0 {
		t.Errorf("disk: got bytesfree %q, DiskMB %d; want positive", r.Attributes["unique.storage.bytesfree"], r.Resources.Disk.DiskMB)
	}
	if r.Resources.Cpu.CpuShares != 4900 || r.Resources.Memory.MemoryMB != 24105 {
		t.Errorf("resources: got cpu %d mem %d, want 4900 and 24105", r.Resources.Cpu.CpuShares, r.Resources.Memory.MemoryMB)
	}
	if r.Resources.MinDynamicPort != structs.MinDynamicPort || r.Resources.MaxDynamicPort != structs.MaxDynamicPort {
		t.Errorf("dynamic ports: got %d-%d", r.Resources.MinDynamicPort, r.Resources.MaxDynamicPort)
	}
	if !DriversChanged(r.Drivers, map[string]*structs.DriverInfo{"good": healthy, "bad": healthy}) {
		t.Errorf("DriversChanged: got false for a health change, want true")
	}
	if DriversChanged(r.Drivers, map[string]*structs.DriverInfo{"good": healthy, "bad": sick}) {
		t.Errorf("DriversChanged: got true for equal fingerprints, want false")
	}
}
