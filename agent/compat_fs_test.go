package agent

import (
	"io"
	"strings"
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"
)

// TestCompatAllocFS runs `nomad alloc fs` (ls, stat, cat, readat) through
// the official client, and the attacks on it: a symlink the task planted
// towards a host file, and a path with "..", must not read outside the
// allocation directory.
func TestCompatAllocFS(t *testing.T) {
	_, c, _ := compatAgent(t, nil)
	job := nomad.NewServiceJob("fs", "fs", "global", 50)
	job.AddTaskGroup(nomad.NewTaskGroup("g", 1).AddTask(shTask("t",
		`d=$NOMAD_ALLOC_DIR/data; mkdir -p $d && printf 'hello\n' > $d/f.txt && ln -s /etc/passwd $d/evil && touch $d/ready; sleep 300`)))
	if _, _, err := c.Jobs().Register(job, nil); err != nil {
		t.Fatal(err)
	}
	stubs := waitAllocs(t, c, "fs", 1, func(s *nomad.AllocationListStub) bool { return s.ClientStatus == "running" })
	alloc, _, err := c.Allocations().Info(stubs[0].ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	fsys := c.AllocFS()
	waitFor(t, "the task's files", 30*time.Second, func() (bool, string) {
		_, _, err := fsys.Stat(alloc, "alloc/data/ready", nil)
		return err == nil, "no ready file"
	})

	ls, _, err := fsys.List(alloc, "alloc/data", nil)
	names := []string{}
	for _, fi := range ls {
		names = append(names, fi.Name)
	}
	if err != nil || strings.Join(names, ",") != "evil,f.txt,ready" {
		t.Errorf("List(alloc/data) = %v, %v", names, err)
	}
	if st, _, err := fsys.Stat(alloc, "alloc/data/f.txt", nil); err != nil || st.Size != 6 || st.IsDir || st.FileMode == "" {
		t.Errorf("Stat(f.txt) = %+v, %v", st, err)
	}
	read := func(r io.ReadCloser, err error) (string, error) {
		if err != nil {
			return "", err
		}
		defer r.Close()
		b, err := io.ReadAll(r)
		return string(b), err
	}
	if got, err := read(fsys.Cat(alloc, "alloc/data/f.txt", nil)); err != nil || got != "hello\n" {
		t.Errorf("Cat(f.txt) = %q, %v", got, err)
	}
	if got, err := read(fsys.ReadAt(alloc, "alloc/data/f.txt", 1, 3, nil)); err != nil || got != "ell" {
		t.Errorf("ReadAt(f.txt, 1, 3) = %q, %v", got, err)
	}
	for _, p := range []string{"alloc/data/evil", "../../../../etc/passwd", "alloc/../../../etc/passwd"} {
		got, err := read(fsys.Cat(alloc, p, nil))
		if err == nil || strings.Contains(got, "root:") {
			t.Errorf("ATTACK: Cat(%q) = %q, %v; want a refusal", p, got, err)
		}
	}
	if _, _, err := fsys.Stat(alloc, "nope", nil); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("Stat(nope) = %v, want a 404", err)
	}
}
