package jobspec

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

func TestParseLifecycleTemplateDispatch(t *testing.T) {
	job, err := ParseFile(filepath.Join("testdata", "lifecycle.nomad.hcl"))
	if err != nil {
		t.Fatalf("ParseFile: %v", err)
	}
	tg := job.TaskGroups[0]
	lifecycles := map[string]*structs.TaskLifecycleConfig{}
	for _, task := range tg.Tasks {
		lifecycles[task.Name] = task.Lifecycle
	}
	wantLC := map[string]*structs.TaskLifecycleConfig{
		"init":    {Hook: "prestart"},
		"proxy":   {Hook: "prestart", Sidecar: true},
		"main":    nil,
		"cleanup": {Hook: "poststop"},
	}
	if diff := cmp.Diff(wantLC, lifecycles); diff != "" {
		t.Errorf("lifecycles (-want +got):\n%s", diff)
	}

	main := tg.LookupTask("main")
	if diff := cmp.Diff(&structs.DispatchPayloadConfig{File: "input/payload.txt"}, main.DispatchPayload); diff != "" {
		t.Errorf("dispatch_payload (-want +got):\n%s", diff)
	}
	id, two, ten := 1000, 2*time.Second, 10*time.Second
	wantTmpl := []*structs.Template{
		{
			// ${NOMAD_TASK_DIR} is the client's to resolve, so it stays as written.
			EmbeddedTmpl: "alloc = {{ env \"NOMAD_ALLOC_ID\" }}\nnode  = {{ env \"node.unique.name\" }}\ndir   = ${NOMAD_TASK_DIR}\n",
			DestPath:     "local/app.conf", ChangeMode: "restart", Splay: 5 * time.Second, Perms: "0644",
			LeftDelim: "{{", RightDelim: "}}",
		},
		{
			SourcePath: "local/env.tpl", DestPath: "secrets/app.env", Envvars: true,
			ChangeMode: "signal", ChangeSignal: "SIGHUP", Splay: 10 * time.Second, Perms: "0600",
			Uid: &id, Gid: &id, LeftDelim: "[[", RightDelim: "]]", ErrMissingKey: true,
			Wait: &structs.WaitConfig{Min: &two, Max: &ten},
		},
	}
	if diff := cmp.Diff(wantTmpl, main.Templates); diff != "" {
		t.Errorf("templates (-want +got):\n%s", diff)
	}
	// The job survives a Copy unchanged (deep-copied lifecycle and templates).
	if diff := cmp.Diff(job, job.Copy()); diff != "" {
		t.Errorf("Copy changed the job (-orig +copy):\n%s", diff)
	}
}

func TestParseLifecycleTemplateDispatchBad(t *testing.T) {
	tests := []struct {
		file string
		pos  string // line:col of the first problem
		frag string
	}{
		{"lifecycle_hook.nomad.hcl", "6:16", `Invalid lifecycle hook: unknown hook "prestrat" (did you mean "prestart"?); use one of "prestart", "poststart", "poststop"`},
		{"lifecycle_only.nomad.hcl", "2:3", `group "g" has only lifecycle tasks (prestart, poststart, poststop); add at least one task without a lifecycle block`},
		{"lifecycle_poststop_sidecar.nomad.hcl", "7:19", "a poststop task cannot be a sidecar"},
		{"template_escape.nomad.hcl", "5:7", `destination "../../etc/cron.d/evil" is outside the allocation directory`},
		{"template_no_destination.nomad.hcl", "5:7", "Missing destination: the template block needs destination"},
		{"template_signal.nomad.hcl", "8:23", `change_mode "signal" needs change_signal`},
		{"template_script.nomad.hcl", "8:9", `block "change_script" is not supported yet by nomadlike`},
		{"dispatch_payload_abs.nomad.hcl", "6:16", `file "../../../etc/passwd" is outside the task's local directory`},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join("testdata", "bad", tt.file)
			job, err := ParseFile(path)
			if err == nil {
				t.Fatalf("ParseFile: got job %q and no error, want an error at %s", job.ID, tt.pos)
			}
			var perr *Error
			if !errors.As(err, &perr) {
				t.Fatalf("got error of type %T, want *jobspec.Error: %v", err, err)
			}
			first := strings.SplitN(err.Error(), "\n", 2)[0]
			if wantPrefix := path + ":" + tt.pos + ": "; !strings.HasPrefix(first, wantPrefix) {
				t.Errorf("got first line %q, want prefix %q", first, wantPrefix)
			}
			if !strings.Contains(first, tt.frag) {
				t.Errorf("got first line %q, want it to contain %q", first, tt.frag)
			}
		})
	}
}
