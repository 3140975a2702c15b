package structs

import (
	"maps"
	"path"
	"path/filepath"
	"strings"
)

// Task event types of the artifact hook, as Nomad names them.
const (
	TaskDownloadingArtifacts   = "Downloading Artifacts"
	TaskArtifactDownloadFailed = "Failed Artifact Download"
)

// Artifact getter modes.
const (
	GetterModeAny  = "any"
	GetterModeFile = "file"
	GetterModeDir  = "dir"
)

// TaskArtifact is a file or archive the client fetches into the task dir
// before the task starts. Its JSON is Nomad's TaskArtifact.
type TaskArtifact struct {
	// GetterSource is a URL (http, https) or a path on the client.
	GetterSource string
	// GetterOptions are go-getter options; nomadlike honours "checksum"
	// ("sha256:<hex>", "sha512:<hex>", "md5:<hex>", "sha1:<hex>") and
	// "archive" ("false" keeps an archive packed).
	GetterOptions map[string]string
	// GetterHeaders are HTTP headers sent with the request.
	GetterHeaders map[string]string
	// GetterMode is "any" (default), "file" or "dir".
	GetterMode string
	// RelativeDest is the destination relative to the task dir (default "local/").
	RelativeDest string
}

// Copy returns a deep copy of a.
func (a *TaskArtifact) Copy() *TaskArtifact {
	if a == nil {
		return nil
	}
	n := *a
	n.GetterOptions = maps.Clone(a.GetterOptions)
	n.GetterHeaders = maps.Clone(a.GetterHeaders)
	return &n
}

// Validate checks what can be checked before the client interpolates.
func (a *TaskArtifact) Validate() error {
	var v ValidationError
	if strings.TrimSpace(a.GetterSource) == "" {
		v.add("GetterSource", "an artifact needs a source, for example source = \"https://example.com/app.tar.gz\"")
	}
	switch a.GetterMode {
	case "", GetterModeAny, GetterModeFile, GetterModeDir:
	default:
		v.add("GetterMode", "mode %q is not one of \"any\", \"file\" or \"dir\"", a.GetterMode)
	}
	if a.RelativeDest != "" && !strings.Contains(a.RelativeDest, "${") {
		if filepath.IsAbs(a.RelativeDest) || EscapesAllocDir(a.RelativeDest) {
			v.add("RelativeDest", "destination %q is outside the allocation directory; use a path relative to the task dir such as \"local/\", or \"../alloc/data\" for the shared alloc dir", a.RelativeDest)
		}
	}
	return v.err()
}

// EscapesAllocDir reports whether p, a path relative to a task's dir
// (<alloc>/<task>), leaves the allocation directory. Nomad allows artifact
// and template destinations anywhere inside it ("../alloc/x", another
// task's "../web/local/x"), never outside.
func EscapesAllocDir(p string) bool {
	c := path.Clean(path.Join("task", p))
	return c == ".." || strings.HasPrefix(c, "../")
}

func copyArtifacts(l []*TaskArtifact) []*TaskArtifact {
	if l == nil {
		return nil
	}
	out := make([]*TaskArtifact, len(l))
	for i, a := range l {
		out[i] = a.Copy()
	}
	return out
}
