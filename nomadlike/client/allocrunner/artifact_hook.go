package allocrunner

import (
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// defaultArtifactDest is where artifacts land when destination is unset.
const defaultArtifactDest = "local/"

// artifactHook fetches the task's artifact blocks into its task dir before
// each start: http(s) URLs and local paths, checksum verified (options
// { checksum = "sha256:<hex>" }), archives (.tar, .tar.gz, .tgz, .zip)
// unpacked. An artifact fetched once is not fetched again on a restart.
type artifactHook struct {
	client *http.Client
	local  ArtifactConfig // which host paths local sources may read

	mu   sync.Mutex
	done map[string]bool // keys of artifacts already fetched
}

func newArtifactHook(local ArtifactConfig) *artifactHook {
	return &artifactHook{client: http.DefaultClient, local: local, done: map[string]bool{}}
}

func (*artifactHook) Name() string { return "artifacts" }

// artifactError is a failed artifact: the task gets a "Failed Artifact
// Download" event naming the source and the cause. A permanent failure (a
// bad checksum, a 404, a refused destination) fails the task at once;
// others (network errors, 5xx) go through the restart policy.
type artifactError struct {
	source    string
	err       error
	permanent bool
}

func (e *artifactError) Error() string {
	return fmt.Sprintf("failed to download artifact %q: %v", e.source, e.err)
}

func (e *artifactError) Unwrap() error { return e.err }

// permanent marks err as one a retry cannot fix.
func permanent(err error) error { return &permanentError{err} }

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

func (h *artifactHook) Prestart(ctx context.Context, req *PrestartRequest, resp *PrestartResponse) error {
	for _, a := range req.Task.Artifacts {
		if a == nil {
			continue
		}
		ra := interpolateArtifact(a, resp)
		key := fmt.Sprintf("%q %q %q %v %v", ra.GetterSource, ra.RelativeDest, ra.GetterMode, ra.GetterOptions, ra.GetterHeaders)
		h.mu.Lock()
		done := h.done[key]
		h.mu.Unlock()
		if done {
			continue
		}
		if err := fetchArtifact(ctx, h.client, h.local, ra, resp.TaskDir); err != nil {
			var pe *permanentError
			return &artifactError{source: ra.GetterSource, err: err, permanent: errors.As(err, &pe)}
		}
		h.mu.Lock()
		h.done[key] = true
		h.mu.Unlock()
	}
	return nil
}

// interpolateArtifact resolves ${...} in the artifact's fields.
func interpolateArtifact(a *structs.TaskArtifact, resp *PrestartResponse) *structs.TaskArtifact {
	ra := a.Copy()
	if resp.Env == nil {
		return ra
	}
	ra.GetterSource = resp.Env.Replace(ra.GetterSource)
	ra.RelativeDest = resp.Env.Replace(ra.RelativeDest)
	for _, m := range []map[string]string{ra.GetterOptions, ra.GetterHeaders} {
		for k, v := range m {
			m[k] = resp.Env.Replace(v)
		}
	}
	return ra
}

// artifactDest returns an artifact's destination relative to the
// allocation directory allocDir (of which taskDir is the task's dir): a
// path relative to the task dir anywhere inside the allocation directory
// ("local/", "../alloc/data", as Nomad allows), or an absolute one inside
// it (an interpolated ${NOMAD_ALLOC_DIR}/x, or the task's view /local/x,
// /alloc/x). Nothing outside the allocation directory.
func artifactDest(dest, allocDir, taskDir string) (string, error) {
	task := filepath.Base(taskDir)
	if dest == "" {
		dest = defaultArtifactDest
	}
	var rel string
	switch c := filepath.Clean(dest); {
	case !filepath.IsAbs(dest):
		rel = filepath.Join(task, dest)
	case inside(allocDir, c):
		rel, _ = filepath.Rel(allocDir, c)
	case c == "/alloc" || strings.HasPrefix(c, "/alloc/"):
		rel = filepath.Join("alloc", strings.TrimPrefix(c, "/alloc"))
	case c == "/local" || strings.HasPrefix(c, "/local/"), c == "/secrets" || strings.HasPrefix(c, "/secrets/"),
		c == "/tmp" || strings.HasPrefix(c, "/tmp/"):
		rel = filepath.Join(task, c)
	default:
		rel = "../" // refused below
	}
	if rel == ".." || strings.HasPrefix(rel, "../") {
		return "", permanent(fmt.Errorf("destination %q is outside the allocation directory %s; use a path relative to the task dir such as %q, or %q for the shared alloc dir",
			dest, allocDir, defaultArtifactDest, "../alloc/data"))
	}
	return rel, nil
}

// fetchArtifact fetches one artifact into taskDir, or where its destination
// says inside the allocation directory. Every file it creates, renames or
// unpacks goes through an os.Root on the allocation directory: a symlink a
// task planted in alloc/, local/ or tmp/ (an earlier run, a prestart task,
// another task of the group) never leads a write out of it.
func fetchArtifact(ctx context.Context, client *http.Client, local ArtifactConfig, a *structs.TaskArtifact, taskDir string) error {
	allocDir := filepath.Dir(taskDir)
	rel, err := artifactDest(a.RelativeDest, allocDir, taskDir)
	if err != nil {
		return err
	}
	mode := a.GetterMode
	if mode == "" {
		mode = structs.GetterModeAny
	}
	sum, err := parseChecksum(a.GetterOptions["checksum"])
	if err != nil {
		return permanent(err)
	}
	for k := range a.GetterOptions {
		if k != "checksum" && k != "archive" {
			return permanent(fmt.Errorf("option %q is not supported by nomadlike (supported: checksum, archive); remove it", k))
		}
	}
	name, open, err := source(ctx, client, local, a)
	if err != nil {
		return err
	}
	root, err := os.OpenRoot(allocDir)
	if err != nil {
		return fmt.Errorf("open the allocation dir: %w", err)
	}
	defer root.Close()
	tmpName, tmp, err := createTemp(root, filepath.Base(taskDir))
	if err != nil {
		return err
	}
	defer root.Remove(tmpName)
	defer tmp.Close()
	body, err := open()
	if err != nil {
		return err
	}
	var hasher hash.Hash
	w := io.Writer(tmp)
	if sum != nil {
		hasher = sum.newHash()
		w = io.MultiWriter(tmp, hasher)
	}
	_, err = io.Copy(w, body)
	body.Close()
	if err != nil {
		return fmt.Errorf("read %s: %w", a.GetterSource, err)
	}
	if sum != nil {
		if got := hex.EncodeToString(hasher.Sum(nil)); got != sum.hex {
			return permanent(fmt.Errorf("checksum mismatch: options.checksum wants %s:%s, the download has %s:%s; fix the checksum or the source", sum.kind, sum.hex, sum.kind, got))
		}
	}
	kind := archiveKind(name)
	if a.GetterOptions["archive"] == "false" {
		kind = ""
	}
	switch {
	case mode == structs.GetterModeFile:
		return place(root, tmp, tmpName, rel)
	case kind != "":
		if err := root.MkdirAll(rel, 0o755); err != nil {
			return permanent(fmt.Errorf("create destination %s: %w", rel, err))
		}
		dest, err := root.OpenRoot(rel)
		if err != nil {
			return permanent(fmt.Errorf("open destination %s: %w", rel, err))
		}
		defer dest.Close()
		if err := unpack(kind, tmp, dest); err != nil {
			return permanent(fmt.Errorf("unpack %s archive: %w", kind, err))
		}
		return nil
	case mode == structs.GetterModeDir:
		return permanent(fmt.Errorf("mode = \"dir\" needs an archive (.tar, .tar.gz, .tgz, .zip), and %q is none; use mode = \"any\" or \"file\"", name))
	default:
		return place(root, tmp, tmpName, filepath.Join(rel, name))
	}
}

// createTemp creates a new file in the task's tmp dir, inside root (the
// allocation dir).
func createTemp(root *os.Root, task string) (string, *os.File, error) {
	tmpDir := filepath.Join(task, "tmp")
	if err := root.MkdirAll(tmpDir, 0o755); err != nil {
		return "", nil, permanent(fmt.Errorf("create the task's tmp dir: %w", err))
	}
	for range 100 {
		name := filepath.Join(tmpDir, ".artifact-"+strconv.FormatUint(rand.Uint64(), 36))
		f, err := root.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if err == nil {
			return name, f, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return "", nil, permanent(fmt.Errorf("create a temp file for the download: %w", err))
		}
	}
	return "", nil, errors.New("create a temp file for the download: too many collisions")
}

// place moves the downloaded file tmpName to rel, both inside root.
func place(root *os.Root, tmp *os.File, tmpName, rel string) error {
	if dir := filepath.Dir(rel); dir != "." {
		if err := root.MkdirAll(dir, 0o755); err != nil {
			return permanent(fmt.Errorf("create %s: %w", dir, err))
		}
	}
	if err := tmp.Chmod(0o644); err != nil {
		return err
	}
	if err := root.Rename(tmpName, rel); err != nil {
		return permanent(fmt.Errorf("move the download to %s: %w", rel, err))
	}
	return nil
}

// source returns the artifact's file name and a function that opens it.
func source(ctx context.Context, client *http.Client, local ArtifactConfig, a *structs.TaskArtifact) (string, func() (io.ReadCloser, error), error) {
	src := a.GetterSource
	if forced, _, ok := strings.Cut(src, "::"); ok && !strings.Contains(forced, "/") {
		return "", nil, permanent(fmt.Errorf("getter %q is not supported by nomadlike; use an http(s) URL or a local path", forced))
	}
	u, err := url.Parse(src)
	if err != nil {
		return "", nil, permanent(fmt.Errorf("source is not a URL or path: %w", err))
	}
	switch u.Scheme {
	case "http", "https":
		name := path.Base(u.Path)
		if name == "/" || name == "." || name == ".." {
			name = "artifact"
		}
		return name, func() (io.ReadCloser, error) { return httpGet(ctx, client, src, a.GetterHeaders) }, nil
	case "file", "":
		p := src
		if u.Scheme == "file" {
			p = u.Path
		}
		if !filepath.IsAbs(p) {
			return "", nil, permanent(fmt.Errorf("local source %q must be an absolute path on the client", src))
		}
		return filepath.Base(p), func() (io.ReadCloser, error) {
			f, err := local.openLocal(p)
			if err != nil {
				return nil, permanent(fmt.Errorf("open local source: %w", err))
			}
			return f, nil
		}, nil
	default:
		return "", nil, permanent(fmt.Errorf("scheme %q is not supported by nomadlike; use http, https or a local path", u.Scheme))
	}
}

func httpGet(ctx context.Context, client *http.Client, src string, headers map[string]string) (io.ReadCloser, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
	if err != nil {
		return nil, permanent(err)
	}
	keys := make([]string, 0, len(headers))
	for k := range headers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		req.Header.Set(k, headers[k])
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		resp.Body.Close()
		err := fmt.Errorf("server answered %s", resp.Status)
		if resp.StatusCode/100 == 4 {
			return nil, permanent(fmt.Errorf("%w; check the URL and any headers it needs", err))
		}
		return nil, err
	}
	return resp.Body, nil
}

// checksum is a parsed options.checksum.
type checksum struct {
	kind, hex string
	newHash   func() hash.Hash
}

// parseChecksum parses "type:hex"; "" means no checksum.
func parseChecksum(s string) (*checksum, error) {
	if s == "" {
		return nil, nil
	}
	kind, hx, ok := strings.Cut(s, ":")
	kinds := map[string]struct {
		f    func() hash.Hash
		size int
	}{"md5": {md5.New, md5.Size}, "sha1": {sha1.New, sha1.Size}, "sha256": {sha256.New, sha256.Size}, "sha512": {sha512.New, sha512.Size}}
	k, known := kinds[kind]
	if !ok || !known {
		return nil, fmt.Errorf("options.checksum %q must be \"<type>:<hex>\" with type md5, sha1, sha256 or sha512", s)
	}
	hx = strings.ToLower(hx)
	if b, err := hex.DecodeString(hx); err != nil || len(b) != k.size {
		return nil, fmt.Errorf("options.checksum %q: a %s checksum is %d hex digits", s, kind, 2*k.size)
	}
	return &checksum{kind: kind, hex: hx, newHash: k.f}, nil
}

// archiveKind is "tar", "tgz" or "zip" for archive names, "" otherwise.
func archiveKind(name string) string {
	n := strings.ToLower(name)
	switch {
	case strings.HasSuffix(n, ".tar.gz"), strings.HasSuffix(n, ".tgz"):
		return "tgz"
	case strings.HasSuffix(n, ".tar"):
		return "tar"
	case strings.HasSuffix(n, ".zip"):
		return "zip"
	}
	return ""
}

// inside reports whether p is dir or below it.
func inside(dir, p string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}
