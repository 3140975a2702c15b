package jobspec

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

var lifecycleSpec = blockSpec{Attrs: []string{"hook", "sidecar"}}

// decodeLifecycle decodes a task's lifecycle block; the hook is checked here
// so that a wrong one is reported at its own position.
func (d *decoder) decodeLifecycle(b *hcl.Block) *structs.TaskLifecycleConfig {
	l := &structs.TaskLifecycleConfig{}
	c := d.content(b.Body, lifecycleSpec)
	a := c.Attributes
	d.setBool(a, "sidecar", &l.Sidecar)
	attr, ok := a["hook"]
	if !ok {
		d.errorf(b.DefRange, "Missing lifecycle hook",
			"the lifecycle block needs hook = one of %s", quoted(structs.TaskLifecycleHooks))
		return l
	}
	d.setString(a, "hook", &l.Hook)
	switch l.Hook {
	case structs.TaskLifecycleHookPrestart, structs.TaskLifecycleHookPoststart, structs.TaskLifecycleHookPoststop:
	default:
		hint := ""
		if s := suggest(l.Hook, structs.TaskLifecycleHooks); s != "" {
			hint = fmt.Sprintf(" (did you mean %q?)", s)
		}
		d.errorf(attr.Expr.Range(), "Invalid lifecycle hook",
			"unknown hook %q%s; use one of %s", l.Hook, hint, quoted(structs.TaskLifecycleHooks))
	}
	if l.Hook == structs.TaskLifecycleHookPoststop && l.Sidecar {
		d.errorf(a["sidecar"].Expr.Range(), "Invalid lifecycle sidecar",
			"a poststop task cannot be a sidecar: it runs after the main tasks have exited; remove sidecar = true")
	}
	return l
}

var templateSpec = blockSpec{
	Attrs: []string{"source", "destination", "data", "change_mode", "change_signal", "splay",
		"perms", "uid", "gid", "left_delimiter", "right_delimiter", "env", "error_on_missing_key"},
	Blocks:      []hcl.BlockHeaderSchema{{Type: "wait"}},
	Unsupported: []string{"change_script"},
	Features:    []string{"vault_grace"},
}

// decodeTemplate decodes a template block. Values the client resolves
// (${NOMAD_TASK_DIR} in destination, {{ ... }} in data) are kept as text.
func (d *decoder) decodeTemplate(b *hcl.Block) *structs.Template {
	t := &structs.Template{}
	c := d.content(b.Body, templateSpec)
	a := c.Attributes
	d.setString(a, "source", &t.SourcePath)
	d.setString(a, "destination", &t.DestPath)
	d.setString(a, "data", &t.EmbeddedTmpl)
	d.setString(a, "change_signal", &t.ChangeSignal)
	d.setString(a, "left_delimiter", &t.LeftDelim)
	d.setString(a, "right_delimiter", &t.RightDelim)
	d.setBool(a, "env", &t.Envvars)
	d.setBool(a, "error_on_missing_key", &t.ErrMissingKey)
	d.setDuration(a, "splay", &t.Splay)
	for _, id := range []struct {
		name string
		dst  **int
	}{{"uid", &t.Uid}, {"gid", &t.Gid}} {
		var n int
		if d.setInt(a, id.name, &n) {
			if n < 0 {
				d.errorf(a[id.name].Expr.Range(), "Invalid "+id.name, "%s cannot be negative, got %d", id.name, n)
			}
			*id.dst = &n
		}
	}
	if attr, ok := a["perms"]; ok {
		d.setString(a, "perms", &t.Perms)
		if _, err := strconv.ParseUint(t.Perms, 8, 12); err != nil {
			d.errorf(attr.Expr.Range(), "Invalid perms", "perms must be an octal file mode such as \"0644\", got %q", t.Perms)
		}
	}
	if attr, ok := a["change_mode"]; ok {
		d.setString(a, "change_mode", &t.ChangeMode)
		switch t.ChangeMode {
		case structs.TemplateChangeModeNoop, structs.TemplateChangeModeRestart, structs.TemplateChangeModeSignal:
		case structs.TemplateChangeModeScript:
			d.errorf(attr.Expr.Range(), "Unsupported change_mode",
				"change_mode \"script\" is not supported yet by nomadlike; use \"restart\", \"signal\" or \"noop\"")
		default:
			d.errorf(attr.Expr.Range(), "Invalid change_mode",
				"unknown change_mode %q; use \"restart\", \"signal\" or \"noop\"", t.ChangeMode)
		}
		if t.ChangeMode == structs.TemplateChangeModeSignal {
			if _, ok := a["change_signal"]; !ok {
				d.errorf(attr.Expr.Range(), "Missing change_signal",
					"change_mode \"signal\" needs change_signal, for example change_signal = \"SIGHUP\"")
			}
		}
	}
	if _, ok := a["destination"]; !ok {
		d.errorf(b.DefRange, "Missing destination",
			"the template block needs destination, the file to render relative to the task dir, for example \"local/app.conf\"")
	}
	_, hasData := a["data"]
	if src, hasSource := a["source"]; hasSource && hasData {
		d.errorf(src.NameRange, "Conflicting template source",
			"the template has both data and source; keep data (the template text) or source (a template file in the task dir), not both")
	} else if !hasSource && !hasData {
		d.errorf(b.DefRange, "Missing template data",
			"the template block needs data = <<EOF ... EOF or source = \"local/file.tpl\"")
	}
	if wb := d.single(c, "wait"); wb != nil {
		t.Wait = d.decodeTemplateWait(wb)
	}
	return t
}

var templateWaitSpec = blockSpec{Attrs: []string{"min", "max"}}

func (d *decoder) decodeTemplateWait(b *hcl.Block) *structs.WaitConfig {
	w := &structs.WaitConfig{}
	c := d.content(b.Body, templateWaitSpec)
	var lo, hi time.Duration
	if d.setDuration(c.Attributes, "min", &lo) {
		w.Min = &lo
	}
	if d.setDuration(c.Attributes, "max", &hi) {
		w.Max = &hi
	}
	return w
}

var dispatchPayloadSpec = blockSpec{Attrs: []string{"file"}}

// decodeDispatchPayload decodes dispatch_payload { file = "input.txt" }.
func (d *decoder) decodeDispatchPayload(b *hcl.Block) *structs.DispatchPayloadConfig {
	p := &structs.DispatchPayloadConfig{}
	c := d.content(b.Body, dispatchPayloadSpec)
	attr, ok := c.Attributes["file"]
	if !ok {
		d.errorf(b.DefRange, "Missing file", "dispatch_payload needs file, the name to write the payload to in local/, for example file = \"input.txt\"")
		return p
	}
	d.setString(c.Attributes, "file", &p.File)
	var ve *structs.ValidationError
	if err := p.Validate(); errors.As(err, &ve) && len(ve.Problems) > 0 {
		d.errorf(attr.Expr.Range(), "Invalid dispatch_payload file", "%s", ve.Problems[0].Msg)
	}
	return p
}

// quoted renders items as "a", "b", "c".
func quoted(items []string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}
