package qemu

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// qcow2Magic starts every qcow2 image.
var qcow2Magic = []byte{'Q', 'F', 'I', 0xfb}

// headerSize is how much of an image imageFormat reads: enough for every
// magic it knows (VirtualBox's text banner is the longest).
const headerSize = 512

// foreignFormats are disk image formats QEMU can read but the driver does
// not pass through: taken for raw, they would boot garbage. Each is found by
// its magic at offset 0.
var foreignFormats = []struct {
	name, magic string
}{
	{"vmdk", "KDMV"},
	{"vmdk (descriptor file)", "# Disk DescriptorFile"},
	{"vdi", "<<< Oracle VM VirtualBox Disk Image >>>"},
	{"vdi", "<<< Sun xVM VirtualBox Disk Image >>>"},
	{"vhdx", "vhdxfile"},
	{"vhd (dynamic)", "conectix"},
	{"qed", "QED\x00"},
	{"qcow (version 1)", "QFI\xfb\x00\x00\x00\x01"},
}

// imageFormat reads the disk image's header and returns "qcow2" or "raw".
// It refuses what would not boot: an empty file, a qcow2 header with a
// version QEMU does not know (a corrupt or truncated image), and images in
// other formats, with the qemu-img command that converts them.
func imageFormat(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("cannot read the disk image %s: %w; check its permissions (the client reads it as uid %d)", path, err, os.Geteuid())
	}
	defer f.Close()
	head := make([]byte, headerSize)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("cannot read the disk image %s: %w", path, err)
	}
	head = head[:n]
	if n == 0 {
		return "", fmt.Errorf("the disk image %s is empty (0 bytes); the download or copy that made it failed, fetch it again", path)
	}
	for _, ff := range foreignFormats {
		if bytes.HasPrefix(head, []byte(ff.magic)) {
			return "", fmt.Errorf("the disk image %s is in %s format, which the qemu driver does not run; convert it with `qemu-img convert -O qcow2 %s disk.qcow2`", path, ff.name, path)
		}
	}
	if bytes.HasPrefix(head, qcow2Magic) {
		if n < 8 {
			return "", fmt.Errorf("the disk image %s is a truncated qcow2 image (%d bytes); fetch it again", path, n)
		}
		if v := binary.BigEndian.Uint32(head[4:8]); v != 2 && v != 3 {
			return "", fmt.Errorf("the disk image %s has a qcow2 magic but header version %d (QEMU knows 2 and 3): it is corrupt; fetch it again or check it with `qemu-img check %s`", path, v, path)
		}
		return "qcow2", nil
	}
	return "raw", nil
}
