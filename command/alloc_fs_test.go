package command

import (
	"strings"
	"testing"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// TestAllocFS: `alloc fs` lists a directory, prints a file, its tail, and
// follows it, with the requests Nomad's CLI sends.
func TestAllocFS(t *testing.T) {
	dir, file := map[string]any{"Name": "data", "IsDir": true}, map[string]any{"Name": "f.txt", "Size": 12, "FileMode": "-rw-r--r--"}
	tests := []struct {
		name string
		stat map[string]any
		args []string
		want string
	}{
		{"ls", dir, []string{"alloc", "fs", "ef12", "alloc/data"}, "f.txt"},
		{"cat", file, []string{"alloc", "fs", "ef12", "alloc/data/f.txt"}, "one\ntwo\nthree\n"},
		{"stat", file, []string{"alloc", "fs", "-stat", "ef12", "alloc/data/f.txt"}, "-rw-r--r--"},
		{"tail", file, []string{"alloc", "fs", "-tail", "-n", "1", "ef12", "alloc/data/f.txt"}, "three\n"},
		{"follow", file, []string{"alloc", "fs", "-f", "ef12", "alloc/data/f.txt"}, "one\ntwo\nthree\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, addr := newFakeAgent(t)
			f.on("GET", "/v1/allocations", 20, []*structs.AllocListStub{fixtureAlloc("running", 14, nil)})
			f.on("GET", "/v1/allocation/"+allocID, 20, fixtureFullAlloc(runningState()))
			f.on("GET", "/v1/client/fs/stat/"+allocID, 20, tt.stat)
			f.on("GET", "/v1/client/fs/ls/"+allocID, 20, []any{file})
			f.on("GET", "/v1/client/fs/cat/"+allocID, 20, rawBody("one\ntwo\nthree\n"))
			f.on("GET", "/v1/client/fs/readat/"+allocID, 20, rawBody("one\ntwo\nthree\n"))
			f.on("GET", "/v1/client/fs/stream/"+allocID, 20, logFrames("one\ntwo\nthree\n"))
			code, out, errOut := runCLI(t, "", append([]string{"-address=" + addr}, tt.args...)...)
			if code != 0 || !strings.Contains(out, tt.want) {
				t.Fatalf("exit %d, stdout %q (want %q); stderr:\n%s", code, out, tt.want, errOut)
			}
			if tt.name == "tail" && strings.Contains(out, "two") {
				t.Errorf("-tail -n 1 printed %q", out)
			}
		})
	}
}
