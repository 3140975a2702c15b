package server

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// raft-wal's segment format (github.com/hashicorp/raft-wal/segment): a
// 32-byte file header (magic, version, base index, ID, codec), then 8-byte
// aligned frames: entries, an index frame when sealed, and after each
// appended batch a commit frame holding the CRC-32C of everything since the
// previous commit (the first one includes the file header).
const (
	walMagic       = 0x58eb6b0d
	walHeaderLen   = 32
	walFrameHdrLen = 8
	walFrameEntry  = 1
	walFrameIndex  = 2
	walFrameCommit = 3
)

var walCRCTable = crc32.MakeTable(crc32.Castagnoli)

// walDamage is a Raft log segment whose acknowledged entries cannot be
// trusted.
type walDamage struct {
	file      string
	offset    int
	reason    string
	firstLost uint64 // first entry that is not intact
	lastLost  uint64 // last entry written after it (0: unknown)
}

func (d *walDamage) Error() string {
	lost := fmt.Sprintf("entries from index %d on", d.firstLost)
	if d.lastLost >= d.firstLost && d.lastLost != 0 {
		lost = fmt.Sprintf("entries %d to %d (%d acknowledged writes)", d.firstLost, d.lastLost, d.lastLost-d.firstLost+1)
	}
	return fmt.Sprintf("the Raft log is damaged: %s at byte %d: %s. Lost: %s. The server refuses to start rather than run without acknowledged writes. "+
		"To recover: in a cluster, move this server's data_dir/server/raft aside and start it again so it rejoins and catches up from the others; "+
		"a single server: start it on an empty data_dir and restore the latest snapshot (nomadlike operator snapshot restore)",
		d.file, d.offset, d.reason, lost)
}

// verifyWAL checks every segment in dir: every committed batch's checksum
// and, for the tail, that the file ends the way raft-wal leaves it (zeros
// after the last batch; a torn last batch is a write that was never
// acknowledged and is dropped as raft-wal does). It returns a *walDamage
// naming the entries lost, so a damaged log is refused instead of opened
// silently without them.
func verifyWAL(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("verify the raft log: %w", err)
	}
	var segs []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".wal") {
			segs = append(segs, e.Name())
		}
	}
	sort.Strings(segs) // base index first, zero-padded
	var lastIndex uint64
	var damage *walDamage
	for i, name := range segs {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return fmt.Errorf("verify the raft log: %w", err)
		}
		last, d := verifySegment(name, data, i == len(segs)-1)
		if last > lastIndex {
			lastIndex = last
		}
		if d != nil && damage == nil {
			damage = d
		}
	}
	if damage != nil {
		if damage.lastLost != 0 || lastIndex > damage.firstLost {
			damage.lastLost = max(damage.lastLost, lastIndex)
		}
		return damage
	}
	return nil
}

// verifySegment checks one segment file. It returns the index of the last
// entry the file holds (by its frames) and the damage found, if any.
func verifySegment(name string, data []byte, tail bool) (uint64, *walDamage) {
	if len(data) < walHeaderLen || binary.LittleEndian.Uint32(data[0:4]) != walMagic {
		if tail && allZero(data) {
			return 0, nil // created, nothing written yet
		}
		return 0, nil // a bad header: raft-wal refuses it with its own message
	}
	base := binary.LittleEndian.Uint64(data[8:16])
	var (
		cursor    = walHeaderLen
		crcStart  = 0
		written   uint64 // entry frames seen
		committed uint64 // entries covered by a verified commit
		damage    *walDamage
		sealed    bool
	)
	lastOf := func(n uint64) uint64 {
		if n == 0 {
			return 0
		}
		return base + n - 1
	}
	mark := func(reason string) {
		if damage == nil {
			damage = &walDamage{file: name, offset: cursor, reason: reason, firstLost: base + committed}
		}
	}
	for {
		if cursor+walFrameHdrLen > len(data) {
			// raft-wal preallocates a segment with zeros and seals a full
			// one (index frame): an unsealed file that ends in data was cut.
			if cursor < len(data) || !sealed {
				mark("the file ends inside its data (truncated)")
			}
			return lastOf(written), damage
		}
		h := data[cursor : cursor+walFrameHdrLen]
		switch h[0] {
		case 0:
			if !allZero(h) {
				mark(fmt.Sprintf("a frame header of type 0 with data %x", h))
				return lastOf(written), damage
			}
			if !allZero(data[cursor:]) {
				mark("a zeroed region followed by more data")
			}
			return lastOf(written), damage
		case walFrameEntry, walFrameIndex:
			n := int(binary.LittleEndian.Uint32(h[4:8]))
			size := walFrameHdrLen + n + (walFrameHdrLen-n%walFrameHdrLen)&(walFrameHdrLen-1)
			if n < 0 || cursor+size > len(data) {
				mark(fmt.Sprintf("a frame of %d bytes runs past the end of the file (truncated or a damaged length)", n))
				return lastOf(written), damage
			}
			if h[0] == walFrameEntry {
				written++
			} else {
				sealed = true
			}
			cursor += size
		case walFrameCommit:
			want := binary.LittleEndian.Uint32(h[4:8])
			if got := crc32.Checksum(data[crcStart:cursor], walCRCTable); got != want {
				torn := tail && allZero(data[cursor+walFrameHdrLen:])
				if !torn {
					mark(fmt.Sprintf("a batch fails its checksum (CRC-32C %08x, stored %08x)", got, want))
				}
			} else if damage == nil {
				committed = written
			}
			crcStart = cursor + walFrameHdrLen
			cursor += walFrameHdrLen
		default:
			mark(fmt.Sprintf("a frame header of unknown type %d", h[0]))
			return lastOf(written), damage
		}
	}
}

func allZero(b []byte) bool {
	return len(bytes.TrimLeft(b, "\x00")) == 0
}
