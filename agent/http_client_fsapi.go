package agent

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/client/allocdir"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// The file-system API (`nomad alloc fs`): /v1/client/fs/{ls,stat,cat,
// readat}/{alloc}?path=. Every path goes through the allocation
// directory's safe accessor (allocdir: os.Root, so neither ".." nor a
// symlink a task planted reaches outside the allocation directory). Served
// by the agent of the allocation's node, proxied there by the others. ACL:
// namespace read-fs.

// allocFilesClient is what the fs API needs of the local client;
// *client.Client implements it.
type allocFilesClient interface {
	AllocFiles(allocID string) (*allocdir.AllocDir, error)
}

// allocFileInfo is Nomad's api.AllocFileInfo.
type allocFileInfo struct {
	Name        string
	IsDir       bool
	Size        int64
	FileMode    string
	ModTime     time.Time
	ContentType string `json:",omitempty"`
}

func fileInfo(fi fs.FileInfo) *allocFileInfo {
	out := &allocFileInfo{Name: fi.Name(), IsDir: fi.IsDir(), Size: fi.Size(), FileMode: fi.Mode().String(), ModTime: fi.ModTime()}
	if !fi.IsDir() {
		out.ContentType = mime.TypeByExtension(path.Ext(fi.Name()))
	}
	return out
}

// fsError maps the accessor's errors to Nomad's codes.
func fsError(p string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return structs.NewNotFound("file %q not found in the allocation directory", p)
	case errors.Is(err, allocdir.ErrOutside):
		return structs.NewBadRequest("path %q resolves outside the allocation directory; paths are relative to it (e.g. alloc/logs, <task>/local)", p)
	case errors.Is(err, allocdir.ErrNotRegular):
		return structs.NewBadRequest("%v; only regular files can be read (list a directory with GET /v1/client/fs/ls/<alloc>?path=<dir>)", err)
	}
	return err
}

// allocDirOf returns the local allocation's directory accessor.
func (s *HTTPServer) allocDirOf(allocID string) (*allocdir.AllocDir, error) {
	if s.client == nil {
		return nil, &structs.CodedError{Code: http.StatusServiceUnavailable, Msg: "this agent runs no client, so it has no allocation directories"}
	}
	fc, ok := s.client.(allocFilesClient)
	if !ok {
		return nil, notSupported("the file-system API")
	}
	return fc.AllocFiles(allocID)
}

// localFS wraps a file-system handler: it routes the request to the
// allocation's node and, when local, calls h with its directory and path.
func (s *HTTPServer) localFS(h func(w http.ResponseWriter, r *http.Request, d *allocdir.AllocDir, p string) (any, error)) http.Handler {
	return s.wrap(func(w http.ResponseWriter, r *http.Request) (any, error) {
		allocID, local := s.routeAlloc(w, r)
		if !local {
			return nil, errHandled
		}
		d, err := s.allocDirOf(allocID)
		if err != nil {
			return nil, err
		}
		p := r.URL.Query().Get("path")
		if p == "" {
			p = "/"
		}
		return h(w, r, d, p)
	})
}

func (s *HTTPServer) clientFSList(w http.ResponseWriter, r *http.Request, d *allocdir.AllocDir, p string) (any, error) {
	entries, err := d.ReadDir(p)
	if err != nil {
		return nil, fsError(p, err)
	}
	out := make([]*allocFileInfo, 0, len(entries))
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil {
			continue // removed meanwhile
		}
		out = append(out, fileInfo(fi))
	}
	return out, nil
}

func (s *HTTPServer) clientFSStat(w http.ResponseWriter, r *http.Request, d *allocdir.AllocDir, p string) (any, error) {
	fi, err := d.Stat(p)
	if err != nil {
		return nil, fsError(p, err)
	}
	return fileInfo(fi), nil
}

// clientFSRead is cat (the whole file) and readat (?offset=&limit=; a
// limit <= 0 reads to the end).
func (s *HTTPServer) clientFSRead(w http.ResponseWriter, r *http.Request, d *allocdir.AllocDir, p string) (any, error) {
	var offset, limit int64
	for name, dst := range map[string]*int64{"offset": &offset, "limit": &limit} {
		if v := r.URL.Query().Get(name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || (name == "offset" && n < 0) {
				return nil, structs.NewBadRequest("%s=%q must be a non-negative integer", name, v)
			}
			*dst = n
		}
	}
	f, err := d.Open(p)
	if err != nil {
		return nil, fsError(p, err)
	}
	defer f.Close()
	var src io.Reader = io.NewSectionReader(f, offset, 1<<62)
	if limit > 0 {
		src = io.LimitReader(src, limit)
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	if _, err := io.Copy(w, src); err != nil {
		s.logger.Debug("fs read ended early", "path", p, "error", fmt.Sprint(err))
	}
	return nil, errHandled
}
