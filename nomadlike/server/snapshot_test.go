package server

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSnapshotArchive(t *testing.T) {
	s := newTestServer(t, nil)
	registerNode(t, s, mockNode("n1"))
	registerJob(t, s, mockJob("web", 1, 100, 64))
	waitLiveAllocs(t, s, "web", 1)
	var buf bytes.Buffer
	index, err := s.SaveSnapshot(&buf)
	if err != nil {
		t.Fatalf("SaveSnapshot: %v", err)
	}
	good := buf.Bytes()
	tests := []struct {
		name    string
		archive func() []byte
		wantErr string
	}{
		{"intact", func() []byte { return good }, ""},
		{"truncated", func() []byte { return good[:len(good)-40] }, "snapshot archive is invalid"},
		{"not gzip", func() []byte { return []byte("hello") }, "not gzip"},
		{"empty", func() []byte { return nil }, "snapshot archive is invalid"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			info, err := InspectSnapshot(bytes.NewReader(tc.archive()))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, want an error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("InspectSnapshot: %v", err)
			}
			if info.Index != index || info.Jobs != 1 || info.Nodes != 1 || info.Allocs != 1 || info.Evals < 1 {
				t.Errorf("got %+v, want index %d with 1 job, 1 node, 1 alloc and evals", info, index)
			}
		})
	}
}

func TestPruneBackups(t *testing.T) {
	dir := t.TempDir()
	names := []string{"nomadlike-20260101T000000Z-1.snap", "nomadlike-20260101T010000Z-2.snap", "nomadlike-20260101T020000Z-3.snap", "unrelated.txt"}
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := pruneBackups(dir, 2); err != nil {
		t.Fatalf("pruneBackups: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	want := []string{"nomadlike-20260101T010000Z-2.snap", "nomadlike-20260101T020000Z-3.snap", "unrelated.txt"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("got %v, want %v", got, want)
	}
}
