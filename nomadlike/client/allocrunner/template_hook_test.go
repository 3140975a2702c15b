package allocrunner

import (
	"strings"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

func TestTemplateAndPayloadBeforeStart(t *testing.T) {
	task := shTask("main", "", false, `cat local/app.conf; echo "greeting=$GREETING"; cat local/in/payload.txt; echo; echo "arg=$1"`)
	task.Config["args"] = append(task.Config["args"].([]any), "sh", "${GREETING}")
	task.Templates = []*structs.Template{
		{EmbeddedTmpl: "alloc={{ env \"NOMAD_ALLOC_ID\" }}\nnode={{ env \"node.unique.name\" }} rack=[[ env \"meta.rack\" ]]\n",
			DestPath: "local/app.conf"},
		{EmbeddedTmpl: "GREETING=hello-[[ env \"attr.kernel.name\" ]]\n", DestPath: "secrets/app.env", Envvars: true,
			LeftDelim: "[[", RightDelim: "]]"},
	}
	task.DispatchPayload = &structs.DispatchPayloadConfig{File: "in/payload.txt"}
	job := &structs.Job{ID: "tpl", Type: structs.JobTypeBatch, Payload: []byte("payload-bytes"),
		TaskGroups: []*structs.TaskGroup{{Name: "g", Count: 1, Tasks: []*structs.Task{task},
			RestartPolicy: &structs.RestartPolicy{Attempts: 0, Mode: structs.RestartModeFail}}}}
	r := startRunnerJob(t, job)
	a := r.wait(t)
	if a.ClientStatus != structs.AllocClientStatusComplete {
		t.Fatalf("got client status %s, want complete; states:\n%s", a.ClientStatus, describe(a))
	}
	got := readLog(t, r.Runner, "main.stdout")
	want := "alloc=" + r.ID() + "\nnode=test-node rack=[[ env \"meta.rack\" ]]\ngreeting=hello-linux\npayload-bytes\narg=hello-linux\n"
	if got != want {
		t.Errorf("got stdout\n%q\nwant\n%q", got, want)
	}
}

func TestTemplateFailureFailsTask(t *testing.T) {
	cases := []struct {
		name string
		tmpl *structs.Template
		want string
	}{
		{"consul function", &structs.Template{EmbeddedTmpl: "a=1\nb={{ key \"app/b\" }}\n", DestPath: "local/app.conf"},
			`template "local/app.conf": line 2: function "key" reads Consul KV, which nomadlike does not have`},
		{"syntax error", &structs.Template{EmbeddedTmpl: "{{ if }}", DestPath: "local/x.conf"},
			`template "local/x.conf": line 1: missing value for if`},
		{"missing source", &structs.Template{SourcePath: "local/app.tpl", DestPath: "local/app.conf"},
			`template "local/app.conf": source: file `},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			task := shTask("main", "", false, `echo should not run`)
			task.Templates = []*structs.Template{tc.tmpl}
			job := &structs.Job{ID: "tpl", Type: structs.JobTypeService,
				TaskGroups: []*structs.TaskGroup{{Name: "g", Count: 1, Tasks: []*structs.Task{task},
					RestartPolicy: &structs.RestartPolicy{Attempts: 3, Interval: time.Hour, Delay: time.Millisecond, Mode: structs.RestartModeFail}}}}
			r := startRunnerJob(t, job)
			a := r.wait(t)
			s := a.TaskStates["main"]
			if a.ClientStatus != structs.AllocClientStatusFailed || !s.Failed || s.Restarts != 0 {
				t.Errorf("got client status %s, task failed=%v restarts=%d; want failed at once, no restarts", a.ClientStatus, s.Failed, s.Restarts)
			}
			var ev *structs.TaskEvent
			for _, e := range s.Events {
				if e.Type == structs.TaskSetupFailure {
					ev = e
				}
			}
			if ev == nil || !strings.HasPrefix(ev.DisplayMessage, tc.want) || !ev.FailsTask {
				t.Errorf("got events\n%s\nwant a Setup Failure that fails the task, starting with %q", describe(a), tc.want)
			}
		})
	}
}
