package structs

import (
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"
)

// Task lifecycle hooks, as Nomad names them.
const (
	TaskLifecycleHookPrestart  = "prestart"
	TaskLifecycleHookPoststart = "poststart"
	TaskLifecycleHookPoststop  = "poststop"
)

// TaskLifecycleHooks lists the valid hooks, for error messages.
var TaskLifecycleHooks = []string{TaskLifecycleHookPrestart, TaskLifecycleHookPoststart, TaskLifecycleHookPoststop}

// TaskMainDead is the event type of a sidecar killed because the group's
// main tasks have all exited (Nomad's "Main Tasks Dead").
const TaskMainDead = "Main Tasks Dead"

// TaskLifecycleConfig places a task before, beside or after the group's main
// tasks: prestart tasks run before them (Sidecar: keep running beside them),
// poststart tasks once they run, poststop tasks after they exit. A task
// without one is a main task.
type TaskLifecycleConfig struct {
	Hook    string
	Sidecar bool
}

// Copy returns a copy of l.
func (l *TaskLifecycleConfig) Copy() *TaskLifecycleConfig {
	if l == nil {
		return nil
	}
	n := *l
	return &n
}

// Validate checks the hook name.
func (l *TaskLifecycleConfig) Validate() error {
	var v ValidationError
	switch l.Hook {
	case TaskLifecycleHookPrestart, TaskLifecycleHookPoststart, TaskLifecycleHookPoststop:
	case "":
		v.add("Hook", "lifecycle needs a hook: one of %s", quoteList(TaskLifecycleHooks))
	default:
		v.add("Hook", "unknown lifecycle hook %q; use one of %s", l.Hook, quoteList(TaskLifecycleHooks))
	}
	if l.Hook == TaskLifecycleHookPoststop && l.Sidecar {
		v.add("Sidecar", "a poststop task cannot be a sidecar: it runs after the main tasks have exited")
	}
	return v.err()
}

// IsMain reports whether a task with lifecycle l is a main task.
func (l *TaskLifecycleConfig) IsMain() bool { return l == nil || l.Hook == "" }

func quoteList(items []string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}

// Template change modes. nomadlike renders a template once per task start
// (there is no Consul or Nomad Variables data that could change), so the
// change mode is validated and recorded but never triggered.
const (
	TemplateChangeModeNoop    = "noop"
	TemplateChangeModeRestart = "restart"
	TemplateChangeModeSignal  = "signal"
	TemplateChangeModeScript  = "script"
)

// Template renders a file into the task's directory before the task starts.
// Field names are Nomad's wire format.
type Template struct {
	// SourcePath is a template file relative to the task dir (e.g. fetched
	// by an artifact); EmbeddedTmpl is the template text itself.
	SourcePath   string
	DestPath     string
	EmbeddedTmpl string
	ChangeMode   string
	ChangeSignal string
	Splay        time.Duration
	// Perms is the destination file's mode in octal, "0644" by default.
	Perms string
	// Uid and Gid, when set, own the destination file.
	Uid, Gid *int
	// LeftDelim and RightDelim default to "{{" and "}}".
	LeftDelim, RightDelim string
	// Envvars reads the rendered KEY=VALUE lines into the task's environment.
	Envvars       bool
	ErrMissingKey bool
	Wait          *WaitConfig
}

// WaitConfig is a template's quiescence wait (Nomad's wait block).
type WaitConfig struct {
	Min, Max *time.Duration
}

// DefaultTemplatePerms is the mode of a rendered file unless perms is set.
const DefaultTemplatePerms = "0644"

// canonicalize applies Nomad's template defaults.
func (t *Template) canonicalize() {
	if t.ChangeMode == "" {
		t.ChangeMode = TemplateChangeModeRestart
	}
	if t.Perms == "" {
		t.Perms = DefaultTemplatePerms
	}
	if t.Splay == 0 {
		t.Splay = 5 * time.Second
	}
	if t.LeftDelim == "" {
		t.LeftDelim = "{{"
	}
	if t.RightDelim == "" {
		t.RightDelim = "}}"
	}
	if t.ChangeSignal != "" {
		t.ChangeSignal = strings.ToUpper(t.ChangeSignal)
	}
}

// Copy returns a deep copy of t.
func (t *Template) Copy() *Template {
	if t == nil {
		return nil
	}
	n := *t
	if t.Uid != nil {
		u := *t.Uid
		n.Uid = &u
	}
	if t.Gid != nil {
		g := *t.Gid
		n.Gid = &g
	}
	if t.Wait != nil {
		w := WaitConfig{}
		if t.Wait.Min != nil {
			m := *t.Wait.Min
			w.Min = &m
		}
		if t.Wait.Max != nil {
			m := *t.Wait.Max
			w.Max = &m
		}
		n.Wait = &w
	}
	return &n
}

// Validate checks what can be checked without the task's directory.
// Whether the destination stays inside the task's directories after
// interpolation is checked again when the template is rendered.
func (t *Template) Validate() error {
	var v ValidationError
	if t.SourcePath == "" && t.EmbeddedTmpl == "" {
		v.add("EmbeddedTmpl", "template needs data (the template text) or source (a template file in the task dir)")
	}
	if t.SourcePath != "" && t.EmbeddedTmpl != "" {
		v.add("SourcePath", "template has both data and source %q; keep only one", t.SourcePath)
	}
	if t.DestPath == "" {
		v.add("DestPath", "template needs a destination, for example destination = \"local/app.conf\"")
	} else if escapesTaskDir(t.DestPath) {
		v.add("DestPath", "destination %q is outside the allocation directory; use a path relative to the task dir such as \"local/app.conf\", \"secrets/token\" or \"../alloc/shared.conf\"", t.DestPath)
	}
	if t.SourcePath != "" && escapesTaskDir(t.SourcePath) {
		v.add("SourcePath", "source %q is outside the allocation directory; templates may read only files inside it", t.SourcePath)
	}
	switch t.ChangeMode {
	case TemplateChangeModeNoop, TemplateChangeModeRestart:
	case TemplateChangeModeSignal:
		if t.ChangeSignal == "" {
			v.add("ChangeSignal", "change_mode \"signal\" needs change_signal, for example \"SIGHUP\"")
		}
	case TemplateChangeModeScript:
		v.add("ChangeMode", "change_mode \"script\" is not supported yet by nomadlike; use \"restart\", \"signal\" or \"noop\"")
	default:
		v.add("ChangeMode", "unknown change_mode %q; use \"restart\", \"signal\" or \"noop\"", t.ChangeMode)
	}
	if t.Splay < 0 {
		v.add("Splay", "cannot be negative")
	}
	if t.Perms != "" {
		if _, err := strconv.ParseUint(t.Perms, 8, 12); err != nil {
			v.add("Perms", "perms %q is not an octal file mode such as \"0644\"", t.Perms)
		}
	}
	if (t.LeftDelim == "") != (t.RightDelim == "") {
		v.add("LeftDelim", "set both left_delimiter and right_delimiter, or neither")
	}
	if t.Wait != nil && t.Wait.Min != nil && t.Wait.Max != nil && *t.Wait.Max < *t.Wait.Min {
		v.add("Wait", "max (%v) is less than min (%v)", *t.Wait.Max, *t.Wait.Min)
	}
	return v.err()
}

// escapesTaskDir reports whether p, a path relative to the task dir, leaves
// the allocation directory before interpolation. Paths starting with an
// interpolation (${NOMAD_SECRETS_DIR}/x) are left for the client to check;
// a literal absolute path escapes unless it names the task's own view of
// its directories (/local, /secrets, /tmp, /alloc).
func escapesTaskDir(p string) bool {
	if strings.HasPrefix(p, "${") {
		return false
	}
	if strings.HasPrefix(p, "/") {
		c := path.Clean(p)
		for _, d := range []string{"/local", "/secrets", "/tmp", "/alloc"} {
			if strings.HasPrefix(c, d+"/") {
				return false
			}
		}
		return true
	}
	// "../alloc/..." (the shared alloc dir) or another task's dir: anywhere
	// inside the allocation directory, as Nomad allows.
	return EscapesAllocDir(p)
}

// DispatchPayloadConfig writes a dispatched job's payload into the task's
// local dir, as local/<File>.
type DispatchPayloadConfig struct {
	File string
}

// Copy returns a copy of d.
func (d *DispatchPayloadConfig) Copy() *DispatchPayloadConfig {
	if d == nil {
		return nil
	}
	n := *d
	return &n
}

// Validate checks that the file stays inside local/.
func (d *DispatchPayloadConfig) Validate() error {
	var v ValidationError
	c := path.Clean(d.File)
	switch {
	case d.File == "":
		v.add("File", "dispatch_payload needs a file name, for example file = \"input.txt\"")
	case path.IsAbs(d.File) || c == ".." || strings.HasPrefix(c, "../"):
		v.add("File", "file %q is outside the task's local directory; use a relative name such as \"input.txt\"", d.File)
	}
	return v.err()
}

// validateLifecycle checks a group's lifecycle mix: it needs a main task.
func validateLifecycle(tg *TaskGroup, v *ValidationError) {
	for _, t := range tg.Tasks {
		if t.Lifecycle.IsMain() {
			return
		}
	}
	if len(tg.Tasks) > 0 {
		v.add("Tasks", "group %q has only lifecycle tasks (prestart, poststart, poststop); add at least one task without a lifecycle block, the main task", tg.Name)
	}
}

func copyTemplates(ts []*Template) []*Template {
	if ts == nil {
		return nil
	}
	n := make([]*Template, len(ts))
	for i, t := range ts {
		n[i] = t.Copy()
	}
	return n
}

// templatesField names template i in validation errors.
func templatesField(i int) string { return fmt.Sprintf("Templates[%d]", i) }
