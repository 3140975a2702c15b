package server

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/raft"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// Snapshot archives, as Consul's and Nomad's `operator snapshot`: a gzipped
// tar holding
//
//	meta.json    raft.SnapshotMeta (index, term, size, configuration)
//	state.bin    the FSM snapshot (fsm_snapshot.go's record stream)
//	SHA256SUMS   "<hex>  <name>" for meta.json and state.bin
//
// Save streams a Raft snapshot into one; restore checks every checksum
// before handing the state to Raft, which installs it on every server.

const (
	archiveMeta  = "meta.json"
	archiveState = "state.bin"
	archiveSums  = "SHA256SUMS"
	// snapshotRestoreTimeout bounds how long Raft may take to install a restore.
	snapshotRestoreTimeout = 2 * time.Minute
)

// SnapshotInfo describes a snapshot archive (`operator snapshot inspect`).
type SnapshotInfo struct {
	ID          string
	Index       uint64
	Term        uint64
	Size        int64
	Jobs        int
	JobVersions int
	Nodes       int
	Allocs      int
	Evals       int
}

// SaveSnapshot takes a Raft snapshot of the current state and writes it to
// w as an archive. It returns the snapshot's Raft index.
func (s *Server) SaveSnapshot(w io.Writer) (uint64, error) {
	f := s.raft.Snapshot()
	if err := f.Error(); err != nil {
		return 0, fmt.Errorf("take a Raft snapshot: %w", err)
	}
	meta, rc, err := f.Open()
	if err != nil {
		return 0, fmt.Errorf("open the Raft snapshot: %w", err)
	}
	defer rc.Close()
	if err := writeArchive(w, meta, rc); err != nil {
		return 0, err
	}
	return meta.Index, nil
}

// writeArchive writes meta and the state stream (meta.Size bytes) as an archive.
func writeArchive(w io.Writer, meta *raft.SnapshotMeta, state io.Reader) error {
	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	now := time.Now()
	metaJSON, err := json.Marshal(meta)
	if err != nil {
		return fmt.Errorf("encode snapshot metadata: %w", err)
	}
	sums := map[string]string{}
	put := func(name string, size int64, r io.Reader) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: size, ModTime: now, Typeflag: tar.TypeReg}); err != nil {
			return fmt.Errorf("write %s header: %w", name, err)
		}
		h := sha256.New()
		n, err := io.Copy(io.MultiWriter(tw, h), r)
		if err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
		if n != size {
			return fmt.Errorf("write %s: got %d bytes, want %d", name, n, size)
		}
		sums[name] = hex.EncodeToString(h.Sum(nil))
		return nil
	}
	if err := put(archiveMeta, int64(len(metaJSON)), strings.NewReader(string(metaJSON))); err != nil {
		return err
	}
	if err := put(archiveState, meta.Size, state); err != nil {
		return err
	}
	sumText := fmt.Sprintf("%s  %s\n%s  %s\n", sums[archiveMeta], archiveMeta, sums[archiveState], archiveState)
	if err := tw.WriteHeader(&tar.Header{Name: archiveSums, Mode: 0o600, Size: int64(len(sumText)), ModTime: now, Typeflag: tar.TypeReg}); err != nil {
		return fmt.Errorf("write %s header: %w", archiveSums, err)
	}
	if _, err := io.WriteString(tw, sumText); err != nil {
		return fmt.Errorf("write %s: %w", archiveSums, err)
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("finish snapshot archive: %w", err)
	}
	if err := gz.Close(); err != nil {
		return fmt.Errorf("finish snapshot archive: %w", err)
	}
	return nil
}

// errBadArchive makes archive problems 400s that say what to do.
func errBadArchive(format string, args ...any) error {
	return structs.NewBadRequest("snapshot archive is invalid: %s (was it written by GET /v1/operator/snapshot and copied completely?)", fmt.Sprintf(format, args...))
}

// readArchive reads an archive from r, copying state.bin into state, and
// checks the checksums. It returns the metadata.
func readArchive(r io.Reader, state io.Writer) (*raft.SnapshotMeta, error) {
	gz, err := gzip.NewReader(bufio.NewReader(r))
	if err != nil {
		return nil, errBadArchive("not gzip: %v", err)
	}
	defer gz.Close()
	tr := tar.NewReader(gz)
	var (
		meta     *raft.SnapshotMeta
		got      = map[string]string{}
		sumsText string
	)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, errBadArchive("read tar: %v", err)
		}
		h := sha256.New()
		switch hdr.Name {
		case archiveMeta:
			b, err := io.ReadAll(io.TeeReader(tr, h))
			if err != nil {
				return nil, errBadArchive("read %s: %v", archiveMeta, err)
			}
			meta = &raft.SnapshotMeta{}
			if err := json.Unmarshal(b, meta); err != nil {
				return nil, errBadArchive("decode %s: %v", archiveMeta, err)
			}
		case archiveState:
			if _, err := io.Copy(io.MultiWriter(state, h), tr); err != nil {
				return nil, errBadArchive("read %s: %v", archiveState, err)
			}
		case archiveSums:
			b, err := io.ReadAll(tr)
			if err != nil {
				return nil, errBadArchive("read %s: %v", archiveSums, err)
			}
			sumsText = string(b)
			continue
		default:
			return nil, errBadArchive("unexpected file %q", hdr.Name)
		}
		got[hdr.Name] = hex.EncodeToString(h.Sum(nil))
	}
	if meta == nil {
		return nil, errBadArchive("no %s", archiveMeta)
	}
	if _, ok := got[archiveState]; !ok {
		return nil, errBadArchive("no %s", archiveState)
	}
	want := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(sumsText), "\n") {
		if f := strings.Fields(line); len(f) == 2 {
			want[f[1]] = f[0]
		}
	}
	for _, name := range []string{archiveMeta, archiveState} {
		if want[name] == "" {
			return nil, errBadArchive("%s has no checksum for %s", archiveSums, name)
		}
		if want[name] != got[name] {
			return nil, errBadArchive("checksum of %s does not match (%s, want %s): the file is corrupt", name, got[name], want[name])
		}
	}
	return meta, nil
}

// InspectSnapshot reads an archive, checks its checksums and counts its objects.
func InspectSnapshot(r io.Reader) (*SnapshotInfo, error) {
	pr, pw := io.Pipe()
	type counted struct {
		info *SnapshotInfo
		err  error
	}
	done := make(chan counted, 1)
	go func() {
		info, err := countRecords(pr)
		_ = pr.CloseWithError(err)
		done <- counted{info, err}
	}()
	meta, err := readArchive(r, pw)
	_ = pw.CloseWithError(err)
	c := <-done
	if err != nil {
		return nil, err
	}
	if c.err != nil {
		return nil, errBadArchive("%v", c.err)
	}
	c.info.ID, c.info.Index, c.info.Term, c.info.Size = meta.ID, meta.Index, meta.Term, meta.Size
	return c.info, nil
}

// countRecords reads an FSM snapshot stream and counts its objects.
func countRecords(r io.Reader) (*SnapshotInfo, error) {
	info := &SnapshotInfo{}
	err := readSnapshot(r, func(t snapshotTable, _ any) error {
		switch t.kind {
		case recordJob:
			info.Jobs++
		case recordJobVersion:
			info.JobVersions++
		case recordNode:
			info.Nodes++
		case recordAlloc:
			info.Allocs++
		case recordEval:
			info.Evals++
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Drain, so the writer is never blocked.
	_, _ = io.Copy(io.Discard, r)
	return info, nil
}

// RestoreSnapshot replaces the cluster's state with an archive's: the
// checksums are verified first, then Raft installs the state on every
// server and the leader's duties restart from it. Only the leader restores.
func (s *Server) RestoreSnapshot(r io.Reader) error {
	if !s.IsLeader() {
		return s.notLeaderError()
	}
	dir := s.cfg.DataDir
	if dir == "" {
		dir = os.TempDir()
	}
	tmp, err := os.CreateTemp(dir, "restore-*.bin")
	if err != nil {
		return fmt.Errorf("restore snapshot: create a temporary file in %s: %w", dir, err)
	}
	defer func() {
		_ = tmp.Close()
		_ = os.Remove(tmp.Name())
	}()
	meta, err := readArchive(r, tmp)
	if err != nil {
		return err
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("restore snapshot: %w", err)
	}
	// Check the state decodes completely before Raft commits to it.
	if _, err := countRecords(tmp); err != nil {
		return errBadArchive("%v", err)
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("restore snapshot: %w", err)
	}
	// Raft refuses a restore until its latest configuration is applied.
	if err := s.raft.Barrier(raftApplyTimeout).Error(); err != nil {
		return fmt.Errorf("restore snapshot: wait for Raft to apply its log: %w", err)
	}
	if err := s.raft.Restore(meta, tmp, snapshotRestoreTimeout); err != nil {
		if errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipLost) {
			return s.notLeaderError()
		}
		return &structs.CodedError{Code: http.StatusInternalServerError, Msg: "restore snapshot: Raft could not install it", Err: err}
	}
	s.logger.Info("restored state from a snapshot", "snapshot_index", meta.Index, "snapshot_term", meta.Term, "size", meta.Size)
	select {
	case s.reestablish <- struct{}{}:
	default:
	}
	return nil
}

// runBackups writes a snapshot archive into Backup.Path every
// Backup.Interval while this server leads, keeping the newest Backup.Retain.
func (s *Server) runBackups(ctx context.Context) {
	t := time.NewTicker(s.cfg.Backup.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		path, err := s.writeBackup(time.Now())
		if err != nil {
			s.logger.Error("automatic snapshot failed; the next one is attempted at the next interval", "path", s.cfg.Backup.Path, "interval", s.cfg.Backup.Interval, "error", err)
			continue
		}
		s.logger.Info("wrote automatic snapshot", "file", path)
		if err := pruneBackups(s.cfg.Backup.Path, s.cfg.Backup.Retain); err != nil {
			s.logger.Error("could not remove old automatic snapshots", "path", s.cfg.Backup.Path, "error", err)
		}
	}
}

// backupPrefix and backupSuffix name automatic snapshots:
// nomadlike-<UTC time>-<index>.snap, which sort by time.
const (
	backupPrefix = "nomadlike-"
	backupSuffix = ".snap"
)

// writeBackup writes one automatic snapshot and returns its path.
func (s *Server) writeBackup(now time.Time) (string, error) {
	dir := s.cfg.Backup.Path
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("create snapshot directory: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".partial-*")
	if err != nil {
		return "", fmt.Errorf("create snapshot file: %w", err)
	}
	defer func() { _ = os.Remove(tmp.Name()) }() // a no-op after the rename
	index, err := s.SaveSnapshot(tmp)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", err
	}
	name := filepath.Join(dir, fmt.Sprintf("%s%s-%020d%s", backupPrefix, now.UTC().Format("20060102T150405.000000000Z"), index, backupSuffix))
	if err := os.Rename(tmp.Name(), name); err != nil {
		return "", fmt.Errorf("rename snapshot file: %w", err)
	}
	return name, nil
}

// pruneBackups removes all but the newest retain automatic snapshots in dir.
func pruneBackups(dir string, retain int) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() && strings.HasPrefix(e.Name(), backupPrefix) && strings.HasSuffix(e.Name(), backupSuffix) {
			names = append(names, e.Name())
		}
	}
	// ReadDir sorts by name, which is by time.
	var errs []error
	for i := 0; i < len(names)-retain; i++ {
		if err := os.Remove(filepath.Join(dir, names[i])); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
