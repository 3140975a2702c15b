// Package ui is nomadlike's web UI: static HTML, CSS and JavaScript modules
// embedded in the binary, served under /ui/ by every agent. There is no build
// step; the browser loads the modules as they are in static/. The UI talks only
// to the public /v1 HTTP API, so whatever it shows, a script can get too.
//
// Routes: /ui/assets/<version>/<file> serves the file static/<file>, where
// <version> is a hash of every embedded file, so an asset URL changes whenever
// the binary's UI changes and the browser may cache it forever. Every other path
// under /ui/ is a page of the single-page app and gets index.html, which is
// never cached; the JavaScript router renders the page the path names.
package ui

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"slices"
	"strings"
	"time"
)

// Prefix is the URL path under which Handler serves the UI.
const Prefix = "/ui/"

//go:embed static
var static embed.FS

// assetsPlaceholder is replaced in index.html by the versioned assets path.
const assetsPlaceholder = "%ASSETS%"

// contentSecurityPolicy allows only this agent's own scripts, styles, images
// and API: no CDN, no external font, no inline script.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// contentTypes maps the extensions of the embedded files to their types; the
// system's MIME tables are not consulted, so the answer is the same everywhere.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
	".png":  "image/png",
	".json": "application/json",
	".txt":  "text/plain; charset=utf-8",
}

// asset is one embedded file, ready to serve.
type asset struct {
	body        []byte
	etag        string
	contentType string
}

// Handler serves the UI. It is safe for concurrent use; build it once.
type Handler struct {
	version string
	index   asset
	assets  map[string]asset // by path relative to static/, e.g. "js/app.js"
}

// NewHandler reads the embedded files and computes the assets version.
func NewHandler() (*Handler, error) {
	return newHandler(static)
}

func newHandler(fsys embed.FS) (*Handler, error) {
	root, err := fs.Sub(fsys, "static")
	if err != nil {
		return nil, fmt.Errorf("ui: open embedded static/: %w", err)
	}
	h := &Handler{assets: map[string]asset{}}
	var names []string
	err = fs.WalkDir(root, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		names = append(names, p)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("ui: list embedded files: %w", err)
	}
	slices.Sort(names)
	all := sha256.New()
	var indexHTML []byte
	for _, name := range names {
		b, err := fs.ReadFile(root, name)
		if err != nil {
			return nil, fmt.Errorf("ui: read embedded %s: %w", name, err)
		}
		ct, ok := contentTypes[path.Ext(name)]
		if !ok {
			return nil, fmt.Errorf("ui: embedded file %s has extension %q, which has no content type in ui.contentTypes", name, path.Ext(name))
		}
		_, _ = fmt.Fprintf(all, "%s\x00%d\x00", name, len(b))
		_, _ = all.Write(b) // a hash.Hash never fails to write
		if name == "index.html" {
			indexHTML = b
			continue
		}
		h.assets[name] = asset{body: b, etag: etag(b), contentType: ct}
	}
	if indexHTML == nil {
		return nil, fmt.Errorf("ui: static/index.html is missing from the embedded files")
	}
	h.version = hex.EncodeToString(all.Sum(nil))[:16]
	page := bytes.ReplaceAll(indexHTML, []byte(assetsPlaceholder), []byte(h.AssetsPath()))
	h.index = asset{body: page, etag: etag(page), contentType: contentTypes[".html"]}
	return h, nil
}

func etag(b []byte) string {
	sum := sha256.Sum256(b)
	return `"` + hex.EncodeToString(sum[:12]) + `"`
}

// Version identifies this build's UI files; it is part of every asset URL.
func (h *Handler) Version() string { return h.version }

// AssetsPath is the URL path prefix of this build's assets, without the
// trailing slash: /ui/assets/<version>.
func (h *Handler) AssetsPath() string { return Prefix + "assets/" + h.version }

// ServeHTTP serves an asset or, for any other path under Prefix, index.html.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Referrer-Policy", "no-referrer")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hdr.Set("Allow", "GET, HEAD")
		http.Error(w, fmt.Sprintf("method %s is not allowed on %s: the UI is read with GET", r.Method, r.URL.Path), http.StatusMethodNotAllowed)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, Prefix)
	if !ok {
		http.Error(w, fmt.Sprintf("%s is not a UI path: the UI is served under %s", r.URL.Path, Prefix), http.StatusNotFound)
		return
	}
	if assetPath, ok := strings.CutPrefix(rest, "assets/"); ok {
		h.serveAsset(w, r, assetPath)
		return
	}
	// A page of the app: the router in index.html renders it.
	hdr.Set("Cache-Control", "no-cache")
	hdr.Set("Content-Security-Policy", contentSecurityPolicy)
	serve(w, r, h.index)
}

// serveAsset serves static/<file> for assets/<version>/<file>. Assets of the
// current version are immutable; a request for another version (a page loaded
// before the agent was upgraded) still gets the file, but uncached.
func (h *Handler) serveAsset(w http.ResponseWriter, r *http.Request, assetPath string) {
	version, name, ok := strings.Cut(assetPath, "/")
	a, found := h.assets[name]
	if !ok || !found || name == "" {
		http.Error(w, fmt.Sprintf("no UI asset %q in this agent (assets of this build are under %s/)", r.URL.Path, h.AssetsPath()), http.StatusNotFound)
		return
	}
	if version == h.version {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	serve(w, r, a)
}

func serve(w http.ResponseWriter, r *http.Request, a asset) {
	w.Header().Set("Content-Type", a.contentType)
	w.Header().Set("ETag", a.etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
}
