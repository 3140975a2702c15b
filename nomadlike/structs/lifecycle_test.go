package structs

import (
	"strings"
	"testing"
	"time"
)

func TestTemplateValidate(t *testing.T) {
	ok := func() *Template {
		tp := &Template{EmbeddedTmpl: "x", DestPath: "local/x"}
		tp.canonicalize()
		return tp
	}
	neg := -time.Second
	cases := []struct {
		name   string
		change func(*Template)
		want   string // "" for valid
	}{
		{"valid", func(*Template) {}, ""},
		{"shared alloc dir", func(tp *Template) { tp.DestPath = "../alloc/x" }, ""},
		{"interpolated", func(tp *Template) { tp.DestPath = "${NOMAD_SECRETS_DIR}/x" }, ""},
		{"in-task absolute", func(tp *Template) { tp.DestPath = "/secrets/x" }, ""},
		{"no data or source", func(tp *Template) { tp.EmbeddedTmpl = "" }, "needs data"},
		{"both data and source", func(tp *Template) { tp.SourcePath = "local/a.tpl" }, "both data and source"},
		{"no destination", func(tp *Template) { tp.DestPath = "" }, "needs a destination"},
		{"escaping destination", func(tp *Template) { tp.DestPath = "../../etc/x" }, `destination "../../etc/x" is outside`},
		{"absolute destination", func(tp *Template) { tp.DestPath = "/etc/x" }, `destination "/etc/x" is outside`},
		{"escaping source", func(tp *Template) { tp.EmbeddedTmpl, tp.SourcePath = "", "../../x" }, `source "../../x" is outside`},
		{"signal without signal", func(tp *Template) { tp.ChangeMode = "signal" }, "needs change_signal"},
		{"script", func(tp *Template) { tp.ChangeMode = "script" }, "not supported yet"},
		{"unknown change mode", func(tp *Template) { tp.ChangeMode = "reload" }, `unknown change_mode "reload"`},
		{"bad perms", func(tp *Template) { tp.Perms = "rw" }, `perms "rw" is not an octal`},
		{"negative splay", func(tp *Template) { tp.Splay = neg }, "Splay: cannot be negative"},
		{"one delimiter", func(tp *Template) { tp.RightDelim = "" }, "set both left_delimiter and right_delimiter"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tp := ok()
			tc.change(tp)
			err := tp.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("got %v, want valid", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestLifecycleValidate(t *testing.T) {
	cases := []struct {
		lc   TaskLifecycleConfig
		want string
	}{
		{TaskLifecycleConfig{Hook: "prestart"}, ""},
		{TaskLifecycleConfig{Hook: "prestart", Sidecar: true}, ""},
		{TaskLifecycleConfig{Hook: "poststart", Sidecar: true}, ""},
		{TaskLifecycleConfig{Hook: "poststop"}, ""},
		{TaskLifecycleConfig{Hook: "poststop", Sidecar: true}, "cannot be a sidecar"},
		{TaskLifecycleConfig{}, `needs a hook: one of "prestart", "poststart", "poststop"`},
		{TaskLifecycleConfig{Hook: "prerun"}, `unknown lifecycle hook "prerun"; use one of "prestart", "poststart", "poststop"`},
	}
	for _, tc := range cases {
		err := tc.lc.Validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%+v: got %v, want valid", tc.lc, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%+v: got %v, want an error containing %q", tc.lc, err, tc.want)
		}
	}
}

func TestGroupNeedsMainTask(t *testing.T) {
	job := &Job{ID: "j", TaskGroups: []*TaskGroup{{Name: "g", Count: 1, Tasks: []*Task{
		{Name: "init", Driver: "raw_exec", Lifecycle: &TaskLifecycleConfig{Hook: "prestart"}},
	}}}}
	job.Canonicalize()
	err := job.Validate()
	if err == nil || !strings.Contains(err.Error(), `TaskGroups["g"].Tasks: group "g" has only lifecycle tasks`) {
		t.Errorf("got %v, want the group to need a main task", err)
	}
	job.TaskGroups[0].Tasks = append(job.TaskGroups[0].Tasks, &Task{Name: "main", Driver: "raw_exec"})
	job.Canonicalize()
	if err := job.Validate(); err != nil {
		t.Errorf("got %v, want valid with a main task", err)
	}
}
