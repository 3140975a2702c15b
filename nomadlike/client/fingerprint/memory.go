package fingerprint

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// Memory reads MemTotal from root/proc/meminfo.
func Memory(root string) (map[string]string, structs.NodeMemoryResources, error) {
	path := filepath.Join(root, "proc/meminfo")
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, structs.NodeMemoryResources{}, fmt.Errorf("memory fingerprint: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			break
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return nil, structs.NodeMemoryResources{}, fmt.Errorf("memory fingerprint: MemTotal in %s: %w", path, err)
		}
		bytes := kb * 1024
		return map[string]string{"memory.totalbytes": strconv.FormatInt(bytes, 10)},
			structs.NodeMemoryResources{MemoryMB: bytes / (1024 * 1024)}, nil
	}
	return nil, structs.NodeMemoryResources{}, fmt.Errorf("memory fingerprint: no MemTotal line in %s", path)
}
