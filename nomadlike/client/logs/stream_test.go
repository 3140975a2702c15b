package logs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/api"
	"github.com/nomadlike/nomadlike/nomadlike/client/allocdir"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

func write(t *testing.T, dir, name, data string) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(data); err != nil {
		t.Fatal(err)
	}
}

func collect(t *testing.T, o Options) (string, []*api.StreamFrame) {
	t.Helper()
	var buf bytes.Buffer
	var frames []*api.StreamFrame
	err := Stream(context.Background(), o, func(f *api.StreamFrame) error {
		buf.Write(f.Data)
		frames = append(frames, f)
		return nil
	})
	if err != nil {
		t.Fatalf("Stream: %v", err)
	}
	return buf.String(), frames
}

func TestStreamRotated(t *testing.T) {
	ad, dir := logDir(t)
	write(t, dir, "web.stdout.0", "hello\n")
	write(t, dir, "web.stdout.1", "world\n")
	write(t, dir, "web.stderr.0", "oops\n")
	write(t, dir, "web.stdout.x", "ignored\n")
	cases := []struct {
		origin string
		offset int64
		want   string
	}{
		{"start", 0, "hello\nworld\n"},
		{"start", 2, "llo\nworld\n"},
		{"start", 8, "rld\n"},
		{"end", 3, "ld\n"},
		{"end", 8, "o\nworld\n"},
		{"end", 100, "hello\nworld\n"},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%s/%d", tc.origin, tc.offset), func(t *testing.T) {
			got, _ := collect(t, Options{AllocDir: ad, Task: "web", Type: "stdout", Origin: tc.origin, Offset: tc.offset})
			if got != tc.want {
				t.Errorf("origin %s offset %d: got %q, want %q", tc.origin, tc.offset, got, tc.want)
			}
		})
	}
	_, frames := collect(t, Options{AllocDir: ad, Task: "web", Type: "stdout"})
	if len(frames) != 2 || frames[1].File != "alloc/logs/web.stdout.1" || frames[1].Offset != 6 {
		t.Errorf("frames: got %+v, want two with the second from alloc/logs/web.stdout.1 ending at offset 6", frames)
	}
}

func TestStreamLargeFrames(t *testing.T) {
	ad, dir := logDir(t)
	write(t, dir, "t.stdout.0", string(bytes.Repeat([]byte("x"), FrameSize*2+10)))
	got, frames := collect(t, Options{AllocDir: ad, Task: "t", Type: "stdout"})
	if len(got) != FrameSize*2+10 || len(frames) != 3 {
		t.Errorf("got %d bytes in %d frames, want %d bytes in 3", len(got), len(frames), FrameSize*2+10)
	}
}

func TestStreamBadRequest(t *testing.T) {
	for _, o := range []Options{{Type: "stdin"}, {Type: "stdout", Origin: "middle"}, {Type: "stdout", Offset: -1}} {
		err := Stream(context.Background(), o, func(*api.StreamFrame) error { return nil })
		var ce *structs.CodedError
		if !errors.As(err, &ce) || ce.Code != http.StatusBadRequest {
			t.Errorf("options %+v: got %v, want a 400 CodedError", o, err)
		}
	}
}

func TestStreamFollow(t *testing.T) {
	ad, dir := logDir(t)
	write(t, dir, "web.stdout.0", "one\n")
	var mu sync.Mutex
	var got bytes.Buffer
	heartbeats := 0
	var done bool
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		errc <- Stream(ctx, Options{AllocDir: ad, Task: "web", Type: "stdout", Follow: true,
			PollInterval: 10 * time.Millisecond, HeartbeatInterval: 20 * time.Millisecond,
			Done: func() bool { mu.Lock(); defer mu.Unlock(); return done }},
			func(f *api.StreamFrame) error {
				mu.Lock()
				defer mu.Unlock()
				if f.IsHeartbeat() {
					heartbeats++
				}
				got.Write(f.Data)
				return nil
			})
	}()
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			mu.Lock()
			ok := cond()
			mu.Unlock()
			if ok {
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
		t.Fatalf("timed out waiting for %s; got %q", what, got.String())
	}
	waitFor("first line", func() bool { return got.String() == "one\n" })
	write(t, dir, "web.stdout.0", "two\n")
	waitFor("appended line", func() bool { return got.String() == "one\ntwo\n" })
	waitFor("a heartbeat", func() bool { return heartbeats > 0 })
	write(t, dir, "web.stdout.1", "three\n")
	waitFor("rotated file", func() bool { return got.String() == "one\ntwo\nthree\n" })
	write(t, dir, "web.stdout.1", "four\n")
	mu.Lock()
	done = true
	mu.Unlock()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("Stream: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("stream did not end after Done")
	}
	if want := "one\ntwo\nthree\nfour\n"; got.String() != want {
		t.Errorf("got %q, want %q", got.String(), want)
	}
}

func BenchmarkStream(b *testing.B) {
	ad, dir := logDir(b)
	data := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB per file
	for i := range 4 {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("web.stdout.%d", i)), data, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(4 * len(data)))
	for b.Loop() {
		if err := Stream(context.Background(), Options{AllocDir: ad, Task: "web", Type: "stdout"}, func(*api.StreamFrame) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
}

// logDir returns a built allocation directory and its alloc/logs.
func logDir(tb testing.TB) (*allocdir.AllocDir, string) {
	tb.Helper()
	ad := allocdir.New(tb.TempDir(), "a1")
	if err := ad.Build(); err != nil {
		tb.Fatal(err)
	}
	return ad, ad.LogDir()
}

// TestStreamRefusesPlantedFiles: a symlink a task planted in alloc/logs
// pointing at a host file is not served, nor does a FIFO block the stream.
func TestStreamRefusesPlantedFiles(t *testing.T) {
	ad, dir := logDir(t)
	secret := filepath.Join(t.TempDir(), "shadow")
	if err := os.WriteFile(secret, []byte("root:secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	write(t, dir, "web.stdout.0", "mine\n")
	if err := os.Symlink(secret, filepath.Join(dir, "web.stdout.1")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "web.stderr.0"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, typ := range []string{"stdout", "stderr"} {
		var got bytes.Buffer
		err := Stream(context.Background(), Options{AllocDir: ad, Task: "web", Type: typ}, func(f *api.StreamFrame) error {
			got.Write(f.Data)
			return nil
		})
		if strings.Contains(got.String(), "secret") {
			t.Fatalf("%s: the stream served the host file: %q", typ, got.String())
		}
		var ce *structs.CodedError
		if !errors.As(err, &ce) || ce.Code != http.StatusBadRequest {
			t.Errorf("%s: got %v, want a 400 naming the planted file", typ, err)
		}
	}
}
