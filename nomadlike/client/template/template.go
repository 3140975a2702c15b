package template

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/template"
	"text/template/parse"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// Config is one template to render for one task.
type Config struct {
	// Template is the task's template block, canonicalized (delimiters, perms).
	Template *structs.Template
	// TaskDir is the task's directory (<alloc>/<task>); SharedDir is the
	// allocation's shared directory (<alloc>/alloc). Templates read and write
	// only below these two.
	TaskDir, SharedDir string
	// Env resolves a name for the env function: the task's environment
	// variables, then node.*, attr.* and meta.* keys. Nil: nothing resolves.
	Env func(name string) (string, bool)
	// Interpolate resolves ${...} references in the source and destination
	// paths. Nil: paths are used as written.
	Interpolate func(string) string
	// Now is the clock of the timestamp function; nil means time.Now.
	Now func() time.Time
	// Services serves nomadService and nomadServices; nil: they are refused
	// as unavailable.
	Services ServiceSource
	// Variables serves nomadVar, nomadVarExists and nomadVarList; nil:
	// they are refused as unavailable.
	Variables VariableSource
}

// Rendered is a rendered template, ready to be written.
type Rendered struct {
	// Dest is the absolute destination path.
	Dest    string
	Content []byte
	Perms   os.FileMode
	// Uid and Gid own the file when not -1.
	Uid, Gid int
	// Env holds the KEY=VALUE lines of an env = true template, else nil.
	Env map[string]string

	root, rel string // Dest as a path rel inside directory root
	tmpl      *structs.Template
}

// Error is a template that could not be rendered or written. Its text names
// the template's destination, the line when known, and what to do.
type Error struct {
	// Dest is the destination as written in the job.
	Dest string
	// Line is the template line of the problem (0: not tied to a line).
	Line int
	Err  error
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("template %q: line %d: %v", e.Dest, e.Line, e.Err)
	}
	return fmt.Sprintf("template %q: %v", e.Dest, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// ErrUnavailableFunction is matched (errors.Is) by errors for a function
// that needs Consul, Vault or Nomad service discovery or Variables.
var ErrUnavailableFunction = errors.New("template function not available in nomadlike")

// tmplName is the text/template name; errors are re-worded to name the
// destination instead.
const tmplName = "tmpl"

// Render reads, parses, checks and executes the template. It writes nothing.
func Render(cfg Config) (*Rendered, error) {
	t := cfg.Template
	fail := func(line int, err error) (*Rendered, error) {
		return nil, &Error{Dest: t.DestPath, Line: line, Err: err}
	}
	interp := cfg.Interpolate
	if interp == nil {
		interp = func(s string) string { return s }
	}
	dest, err := locate(interp(t.DestPath), cfg.TaskDir, cfg.SharedDir)
	if err != nil {
		return fail(0, fmt.Errorf("destination: %w", err))
	}
	text := t.EmbeddedTmpl
	if t.SourcePath != "" {
		b, err := readInside(interp(t.SourcePath), cfg.TaskDir, cfg.SharedDir)
		if err != nil {
			return fail(0, fmt.Errorf("source: %w; the source must be a file in the task dir, for example fetched by an artifact block", err))
		}
		text = string(b)
	}
	left, right := t.LeftDelim, t.RightDelim
	if left == "" {
		left = "{{"
	}
	if right == "" {
		right = "}}"
	}
	missing := "missingkey=default"
	if t.ErrMissingKey {
		missing = "missingkey=error"
	}
	tp, err := template.New(tmplName).Delims(left, right).Option(missing).Funcs(funcs(cfg)).Parse(text)
	if err != nil {
		line, msg := splitTemplateError(err)
		return fail(line, errors.New(msg))
	}
	if err := checkFunctions(tp, cfg.Services != nil, cfg.Variables != nil); err != nil {
		return nil, &Error{Dest: t.DestPath, Line: err.line, Err: err}
	}
	var out bytes.Buffer
	if err := tp.Execute(&out, nil); err != nil {
		line, msg := splitTemplateError(err)
		return fail(line, errors.New(msg))
	}
	r := &Rendered{Dest: dest.abs, Content: out.Bytes(), Uid: -1, Gid: -1, root: dest.root, rel: dest.rel, tmpl: t}
	perms := t.Perms
	if perms == "" {
		perms = structs.DefaultTemplatePerms
	}
	mode, err := strconv.ParseUint(perms, 8, 12)
	if err != nil {
		return fail(0, fmt.Errorf("perms %q is not an octal file mode such as \"0644\"", perms))
	}
	r.Perms = os.FileMode(mode)
	if t.Uid != nil {
		r.Uid = *t.Uid
	}
	if t.Gid != nil {
		r.Gid = *t.Gid
	}
	if t.Envvars {
		env, err := ParseEnv(r.Content)
		if err != nil {
			var le *lineError
			if errors.As(err, &le) {
				return fail(0, fmt.Errorf("env = true: line %d of the rendered output: %v", le.line, le.err))
			}
			return fail(0, fmt.Errorf("env = true: %w", err))
		}
		r.Env = env
	}
	return r, nil
}

// Write puts the rendered file in place atomically (a temporary file renamed
// over the destination), with its perms and owner. It never follows a
// symlink out of the task's directories.
func (r *Rendered) Write() error {
	fail := func(err error) error { return &Error{Dest: r.tmpl.DestPath, Err: err} }
	root, err := os.OpenRoot(r.root)
	if err != nil {
		return fail(fmt.Errorf("open %s: %w", r.root, err))
	}
	defer root.Close()
	if dir := filepath.Dir(r.rel); dir != "." {
		if err := root.MkdirAll(dir, 0o755); err != nil {
			return fail(fmt.Errorf("create the destination's directory: %w", err))
		}
	}
	tmp := filepath.Join(filepath.Dir(r.rel), "."+filepath.Base(r.rel)+".nomadlike-tmp")
	if err := root.WriteFile(tmp, r.Content, r.Perms); err != nil {
		return fail(fmt.Errorf("write %s: %w", r.Dest, err))
	}
	// WriteFile's mode is masked by the umask; perms are what the user asked.
	if err := root.Chmod(tmp, r.Perms); err != nil {
		_ = root.Remove(tmp)
		return fail(fmt.Errorf("set perms %04o on %s: %w", r.Perms, r.Dest, err))
	}
	if r.Uid >= 0 || r.Gid >= 0 {
		if err := root.Chown(tmp, r.Uid, r.Gid); err != nil {
			_ = root.Remove(tmp)
			return fail(fmt.Errorf("set owner %d:%d on %s: %w (the client must run as root to change owners)", r.Uid, r.Gid, r.Dest, err))
		}
	}
	if err := root.Rename(tmp, r.rel); err != nil {
		_ = root.Remove(tmp)
		return fail(fmt.Errorf("move the rendered file to %s: %w", r.Dest, err))
	}
	return nil
}

// Unchanged reports whether the destination already holds exactly the
// rendered content. It reads through the task's root like Write, and reads
// only a regular file (a symlink out, or a FIFO the task planted there, is
// "changed", never followed nor blocked on).
func (r *Rendered) Unchanged() bool {
	root, err := os.OpenRoot(r.root)
	if err != nil {
		return false
	}
	defer root.Close()
	f, err := root.OpenFile(r.rel, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return false
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() || st.Size() != int64(len(r.Content)) {
		return false
	}
	old, err := io.ReadAll(f)
	return err == nil && bytes.Equal(old, r.Content)
}

// location is an absolute path and the same path inside one of the roots a
// task may use.
type location struct{ abs, root, rel string }

// locate resolves p (relative to taskDir, or absolute) and checks that it is
// inside the allocation directory (taskDir's parent, as the client lays
// it out: <alloc>/<task>), as Nomad allows. The root of the result is the
// narrowest of taskDir, sharedDir and the allocation directory holding it.
func locate(p, taskDir, sharedDir string) (location, error) {
	if p == "" {
		return location{}, errors.New("path is empty")
	}
	var abs string
	if filepath.IsAbs(p) {
		abs = inTaskLayout(filepath.Clean(p), taskDir, sharedDir)
	} else {
		abs = filepath.Join(taskDir, p)
	}
	for _, root := range []string{taskDir, sharedDir, filepath.Dir(taskDir)} {
		if root == "" || root == "." {
			continue
		}
		rel, err := filepath.Rel(root, abs)
		if err == nil && rel != "." && rel != ".." && !strings.HasPrefix(rel, "../") {
			return location{abs: abs, root: root, rel: rel}, nil
		}
	}
	return location{}, fmt.Errorf("%q resolves to %s, which is outside the allocation directory %s; use a path inside the task dir such as \"local/app.conf\" or \"secrets/token\", or \"../alloc/...\" for the shared alloc dir", p, abs, filepath.Dir(taskDir))
}

// inTaskLayout maps a path of the task's own view of its directories
// (/local, /secrets, /tmp, /alloc: what NOMAD_TASK_DIR and friends name
// inside an isolated task) to the host path; other paths are returned as
// they are.
func inTaskLayout(abs, taskDir, sharedDir string) string {
	if strings.HasPrefix(abs, taskDir+"/") || (sharedDir != "" && strings.HasPrefix(abs, sharedDir+"/")) {
		return abs
	}
	for _, sub := range []string{"local", "secrets", "tmp"} {
		if abs == "/"+sub || strings.HasPrefix(abs, "/"+sub+"/") {
			return filepath.Join(taskDir, abs)
		}
	}
	if sharedDir != "" && (abs == "/alloc" || strings.HasPrefix(abs, "/alloc/")) {
		return filepath.Join(sharedDir, strings.TrimPrefix(abs, "/alloc"))
	}
	return abs
}

// readInside reads the file at p (as locate resolves it) without following
// symlinks out of its root.
func readInside(p, taskDir, sharedDir string) ([]byte, error) {
	loc, err := locate(p, taskDir, sharedDir)
	if err != nil {
		return nil, err
	}
	root, err := os.OpenRoot(loc.root)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	b, err := root.ReadFile(loc.rel)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("file %s does not exist", loc.abs)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", loc.abs, err)
	}
	return b, nil
}

// templateErr matches text/template's error prefixes:
// "template: tmpl:3: msg" (parse) and "template: tmpl:3:7: executing "tmpl" at <x>: msg".
var templateErr = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^template: ` + tmplName + `:(\d+)(?::\d+)?: (?:executing "` + tmplName + `" )?(.*)$`)
})

// splitTemplateError returns the template line of a text/template error and
// its message without text/template's prefix.
func splitTemplateError(err error) (int, string) {
	msg := err.Error()
	m := templateErr().FindStringSubmatch(msg)
	if m == nil {
		return 0, msg
	}
	line, _ := strconv.Atoi(m[1])
	msg = m[2]
	// "unclosed action started at tmpl:2": the line where it started is
	// where the user must look.
	if s := startedAt().FindStringSubmatch(msg); s != nil {
		line, _ = strconv.Atoi(s[1])
		msg = strings.Replace(msg, s[0], "", 1) + " (opened on this line, never closed)"
	}
	return line, msg
}

var startedAt = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(` started at ` + tmplName + `:(\d+)`) })

// unavailableError is a call to a function nomadlike cannot serve.
type unavailableError struct {
	line int
	name string
	why  string
}

func (e *unavailableError) Error() string {
	return fmt.Sprintf("function %q %s, which nomadlike does not have; render the value into the job (data, env or meta) instead", e.name, e.why)
}

func (e *unavailableError) Is(target error) bool { return target == ErrUnavailableFunction }

// checkFunctions finds the first use of an unavailable function in any
// branch of the template, executed or not.
func checkFunctions(t *template.Template, services, variables bool) *unavailableError {
	var found *unavailableError
	for _, tt := range t.Templates() {
		if tt.Tree == nil || tt.Tree.Root == nil {
			continue
		}
		walk(tt.Tree.Root, func(n parse.Node) bool {
			id, ok := n.(*parse.IdentifierNode)
			if !ok {
				return true
			}
			why, bad := unavailable[id.Ident]
			if !bad || (services && slices.Contains(serviceFunctions, id.Ident)) || (variables && slices.Contains(variableFunctions, id.Ident)) {
				return true
			}
			loc, _ := tt.Tree.ErrorContext(n)
			line := lineOf(loc)
			if found == nil || line < found.line {
				found = &unavailableError{line: line, name: id.Ident, why: why}
			}
			return true
		})
	}
	return found
}

// lineOf extracts the line from an ErrorContext location "name:line:col".
func lineOf(loc string) int {
	parts := strings.Split(loc, ":")
	if len(parts) < 3 {
		return 0
	}
	n, _ := strconv.Atoi(parts[len(parts)-2])
	return n
}

// walk calls f on n and every node below it.
func walk(n parse.Node, f func(parse.Node) bool) {
	if n == nil || !f(n) {
		return
	}
	switch x := n.(type) {
	case *parse.ListNode:
		if x == nil {
			return
		}
		for _, c := range x.Nodes {
			walk(c, f)
		}
	case *parse.ActionNode:
		walk(x.Pipe, f)
	case *parse.PipeNode:
		if x == nil {
			return
		}
		for _, c := range x.Cmds {
			walk(c, f)
		}
	case *parse.CommandNode:
		for _, a := range x.Args {
			walk(a, f)
		}
	case *parse.IfNode:
		walkBranch(&x.BranchNode, f)
	case *parse.RangeNode:
		walkBranch(&x.BranchNode, f)
	case *parse.WithNode:
		walkBranch(&x.BranchNode, f)
	case *parse.TemplateNode:
		walk(x.Pipe, f)
	case *parse.ChainNode:
		walk(x.Node, f)
	}
}

func walkBranch(b *parse.BranchNode, f func(parse.Node) bool) {
	walk(b.Pipe, f)
	if b.List != nil {
		walk(b.List, f)
	}
	if b.ElseList != nil {
		walk(b.ElseList, f)
	}
}
