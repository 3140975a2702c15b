package fingerprint

import (
	"fmt"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// Disk reports the space of the file system holding dir (the data dir).
// NodeResources.Disk is the free space, as Nomad's.
func Disk(dir string) (map[string]string, structs.NodeDiskResources, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return nil, structs.NodeDiskResources{}, fmt.Errorf("disk fingerprint: statfs %s: %w", dir, err)
	}
	free := int64(st.Bavail) * int64(st.Bsize)
	total := int64(st.Blocks) * int64(st.Bsize)
	return map[string]string{
		"unique.storage.volume":     dir,
		"unique.storage.bytesfree":  strconv.FormatInt(free, 10),
		"unique.storage.bytestotal": strconv.FormatInt(total, 10),
	}, structs.NodeDiskResources{DiskMB: free / (1024 * 1024)}, nil
}
