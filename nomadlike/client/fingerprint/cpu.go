package fingerprint

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// CPU reads root/proc/cpuinfo (and the cpufreq maximum under root/sys when
// present) and returns the cpu.* attributes and the node's CPU resources:
// CpuShares is cores × MHz.
func CPU(root string) (map[string]string, structs.NodeCpuResources, error) {
	path := filepath.Join(root, "proc/cpuinfo")
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, structs.NodeCpuResources{}, fmt.Errorf("cpu fingerprint: %w", err)
	}
	cores, model, mhz := parseCPUInfo(data)
	if khz, err := readInt(filepath.Join(root, "sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq")); err == nil && khz > 0 {
		mhz = float64(khz) / 1000
	}
	if cores == 0 {
		return nil, structs.NodeCpuResources{}, fmt.Errorf("cpu fingerprint: no \"processor\" entries in %s", path)
	}
	if mhz <= 0 {
		return nil, structs.NodeCpuResources{}, fmt.Errorf("cpu fingerprint: no CPU frequency in %s (\"cpu MHz\") or %s; set the client's cpu_total_compute",
			path, filepath.Join(root, "sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq"))
	}
	total := int64(float64(cores) * mhz)
	attrs := map[string]string{
		"cpu.numcores":     strconv.Itoa(cores),
		"cpu.frequency":    strconv.Itoa(int(mhz)),
		"cpu.totalcompute": strconv.FormatInt(total, 10),
		"cpu.arch":         runtime.GOARCH,
	}
	if model != "" {
		attrs["cpu.modelname"] = model
	}
	res := structs.NodeCpuResources{CpuShares: total, TotalCpuCores: uint16(cores)}
	for i := range cores {
		res.ReservableCpuCores = append(res.ReservableCpuCores, uint16(i))
	}
	return attrs, res, nil
}

// parseCPUInfo counts logical processors and returns the model name and the
// highest "cpu MHz" seen.
func parseCPUInfo(data []byte) (cores int, model string, mhz float64) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch k {
		case "processor":
			cores++
		case "model name":
			if model == "" {
				model = v
			}
		case "cpu MHz":
			if f, err := strconv.ParseFloat(v, 64); err == nil && f > mhz {
				mhz = f
			}
		}
	}
	return cores, model, mhz
}

func readInt(path string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
}
