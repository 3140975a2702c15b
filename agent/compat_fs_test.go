package agent

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"
)

// TestCompatAllocFS runs `nomad alloc fs` (/v1/client/fs/{ls,stat,cat,readat,stream}) with
// the official client (AllocFS) against a real agent and raw_exec task, and
// is the attack test of the fs API: the task plants symlinks to / and to
// /etc/shadow, a FIFO, and the requests try "..": nothing outside the
// allocation directory is listed, stat'ed or read, nothing blocks.
func TestCompatAllocFS(t *testing.T) {
	_, c, _ := compatAgent(t, nil)
	script := `d=$NOMAD_ALLOC_DIR/data
printf 'hello\n' > $d/hello.txt
ln -s hello.txt $d/inside
ln -s / $d/root
ln -s /etc/shadow $d/shadow
mkfifo $d/fifo
touch $d/ready
i=0
while true; do i=$((i+1)); echo tick$i >> $d/ticks; sleep 0.2; done`
	job := nomad.NewServiceJob("fs", "fs", "global", 50)
	job.AddTaskGroup(nomad.NewTaskGroup("g", 1).AddTask(shTask("t", script)))
	if _, _, err := c.Jobs().Register(job, nil); err != nil {
		t.Fatalf("Register: %v", err)
	}
	stubs := waitAllocs(t, c, "fs", 1, func(s *nomad.AllocationListStub) bool { return s.ClientStatus == "running" })
	alloc, _, err := c.Allocations().Info(stubs[0].ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	fs := c.AllocFS()
	waitFor(t, "the task to plant its files", 30*time.Second, func() (bool, string) {
		_, _, err := fs.Stat(alloc, "alloc/data/ready", nil)
		return err == nil, fmt.Sprint(err)
	})
	cat := func(p string) (string, error) {
		rc, err := fs.Cat(alloc, p, nil)
		if err != nil {
			return "", err
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		return string(b), err
	}

	t.Run("ls stat cat readat", func(t *testing.T) {
		files, _, err := fs.List(alloc, "alloc/data", nil)
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		modes := map[string]string{}
		for _, f := range files {
			modes[f.Name] = f.FileMode
		}
		if !strings.HasPrefix(modes["root"], "L") || !strings.HasPrefix(modes["hello.txt"], "-") {
			t.Errorf("List(alloc/data) = %v; want root listed as a symlink, hello.txt as a file", modes)
		}
		root, _, err := fs.List(alloc, "/", nil)
		if err != nil || len(root) == 0 {
			t.Errorf("List(/) = %v, %v", root, err)
		}
		st, _, err := fs.Stat(alloc, "alloc/data/hello.txt", nil)
		if err != nil || st.Name != "hello.txt" || st.Size != 6 || st.IsDir || !strings.HasPrefix(st.ContentType, "text/plain") {
			t.Errorf("Stat(hello.txt) = %+v, %v", st, err)
		}
		if s, err := cat("alloc/data/hello.txt"); s != "hello\n" || err != nil {
			t.Errorf("Cat(hello.txt) = %q, %v", s, err)
		}
		if s, err := cat("/alloc/data/inside"); s != "hello\n" || err != nil {
			t.Errorf("Cat of a symlink inside the alloc dir = %q, %v", s, err)
		}
		rc, err := fs.ReadAt(alloc, "alloc/data/hello.txt", 1, 3, nil)
		if err != nil {
			t.Fatalf("ReadAt: %v", err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		if string(b) != "ell" {
			t.Errorf("ReadAt(1, 3) = %q, want \"ell\"", b)
		}
		if _, err := cat("alloc/data/missing"); err == nil || !strings.Contains(err.Error(), "404") {
			t.Errorf("Cat of a missing file: %v, want a 404", err)
		}
	})

	t.Run("stream", func(t *testing.T) {
		cancel := make(chan struct{})
		defer close(cancel)
		frames, errs := fs.Stream(alloc, "alloc/data/ticks", nomad.OriginStart, 0, cancel, nil)
		var got strings.Builder
		deadline := time.After(20 * time.Second)
		for !strings.Contains(got.String(), "tick3\n") {
			select {
			case f, ok := <-frames:
				if !ok {
					t.Fatalf("stream ended early with %q", got.String())
				}
				got.Write(f.Data)
			case err := <-errs:
				t.Fatalf("Stream: %v (got %q)", err, got.String())
			case <-deadline:
				t.Fatalf("followed stream: got %q, want tick1..tick3", got.String())
			}
		}
	})

	t.Run("attack: symlinks, .. and a FIFO stay inside", func(t *testing.T) {
		for _, p := range []string{"alloc/data/shadow", "alloc/data/root/etc/shadow", "../../../../../../etc/shadow", "alloc/../../../etc/shadow", "alloc/data/fifo"} {
			// The requests run aside so that one that blocks fails the test
			// instead of hanging it; what they find is reported from here.
			var mu sync.Mutex
			var problems []string
			bad := func(format string, args ...any) {
				mu.Lock()
				defer mu.Unlock()
				problems = append(problems, fmt.Sprintf(format, args...))
			}
			done := make(chan struct{})
			go func() {
				defer close(done)
				s, err := cat(p)
				if err == nil || strings.Contains(s, "root:") || strings.Contains(err.Error(), "root:") {
					bad("Cat(%q) = %q, %v; want a 400 and nothing of the host", p, s, err)
				} else if !strings.Contains(err.Error(), "400") && !strings.Contains(err.Error(), "404") {
					bad("Cat(%q): %v, want a 400", p, err)
				}
				rc, err := fs.ReadAt(alloc, p, 0, 100, nil)
				if err == nil {
					b, _ := io.ReadAll(rc)
					rc.Close()
					bad("ReadAt(%q) = %q, want an error", p, b)
				}
				if st, _, err := fs.Stat(alloc, p, nil); err == nil && p != "alloc/data/fifo" {
					bad("Stat(%q) = %+v, want an error", p, st)
				}
				cancel := make(chan struct{})
				defer close(cancel)
				frames, errs := fs.Stream(alloc, p, nomad.OriginStart, 0, cancel, nil)
				select {
				case f := <-frames:
					if f != nil {
						bad("Stream(%q) sent %q, want an error", p, f.Data)
					}
				case <-errs:
				}
			}()
			select {
			case <-done:
			case <-time.After(15 * time.Second):
				bad("fs requests on %q blocked", p)
			}
			mu.Lock()
			for _, m := range problems {
				t.Error(m)
			}
			mu.Unlock()
		}
		for _, p := range []string{"alloc/data/root", "alloc/data/root/etc", "..", "alloc/../.."} {
			if files, _, err := fs.List(alloc, p, nil); err == nil {
				t.Errorf("List(%q) = %d entries (outside the alloc dir), want an error", p, len(files))
			}
		}
	})
}
