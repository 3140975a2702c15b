package ui

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"path"
	"regexp"
	"strings"
	"testing"
)

func newTestHandler(t *testing.T) *Handler {
	t.Helper()
	h, err := NewHandler()
	if err != nil {
		t.Fatalf("NewHandler: %v", err)
	}
	return h
}

func get(t *testing.T, h http.Handler, method, target string, hdr map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, target, nil)
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestHandler(t *testing.T) {
	h := newTestHandler(t)
	assets := h.AssetsPath()
	tests := []struct {
		name, method, path string
		wantCode           int
		wantType           string
		wantCache          string
		wantBody           string
	}{
		{"root of the UI", "GET", "/ui/", 200, "text/html; charset=utf-8", "no-cache", `<main id="main"`},
		{"a page route", "GET", "/ui/jobs", 200, "text/html; charset=utf-8", "no-cache", assets + "/js/app.js"},
		{"a deep page route", "GET", "/ui/jobs/web.v2/extra", 200, "text/html; charset=utf-8", "no-cache", "<!doctype html>"},
		{"an allocation route", "GET", "/ui/allocations/0b4c9a1e-0000-4000-8000-000000000000", 200, "text/html; charset=utf-8", "no-cache", ""},
		{"HEAD of a page", "HEAD", "/ui/clients", 200, "text/html; charset=utf-8", "no-cache", ""},
		{"the app module", "GET", assets + "/js/app.js", 200, "text/javascript; charset=utf-8", "public, max-age=31536000, immutable", "import"},
		{"a page module", "GET", assets + "/js/pages/job.js", 200, "text/javascript; charset=utf-8", "public, max-age=31536000, immutable", "export function render"},
		{"the stylesheet", "GET", assets + "/app.css", 200, "text/css; charset=utf-8", "public, max-age=31536000, immutable", ":root"},
		{"the icon", "GET", assets + "/favicon.svg", 200, "image/svg+xml", "public, max-age=31536000, immutable", "<svg"},
		{"an asset of another build", "GET", "/ui/assets/0000000000000000/app.css", 200, "text/css; charset=utf-8", "no-cache", ":root"},
		{"a missing asset", "GET", assets + "/js/nope.js", 404, "text/plain; charset=utf-8", "", "no UI asset"},
		{"index.html is not an asset", "GET", assets + "/index.html", 404, "text/plain; charset=utf-8", "", "no UI asset"},
		{"the assets directory", "GET", "/ui/assets/", 404, "text/plain; charset=utf-8", "", "no UI asset"},
		{"a directory of assets", "GET", assets + "/js/", 404, "text/plain; charset=utf-8", "", "no UI asset"},
		{"a write", "POST", "/ui/jobs", 405, "text/plain; charset=utf-8", "", "not allowed"},
		{"outside the prefix", "GET", "/v1/jobs", 404, "text/plain; charset=utf-8", "", "not a UI path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := get(t, h, tt.method, tt.path, nil)
			if w.Code != tt.wantCode {
				t.Fatalf("%s %s: got status %d, want %d; body:\n%s", tt.method, tt.path, w.Code, tt.wantCode, w.Body)
			}
			if got := w.Header().Get("Content-Type"); got != tt.wantType {
				t.Errorf("Content-Type: got %q, want %q", got, tt.wantType)
			}
			if got := w.Header().Get("Cache-Control"); tt.wantCache != "" && got != tt.wantCache {
				t.Errorf("Cache-Control: got %q, want %q", got, tt.wantCache)
			}
			if got := w.Header().Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options: got %q, want nosniff", got)
			}
			if !strings.Contains(w.Body.String(), tt.wantBody) {
				t.Errorf("body lacks %q:\n%.400s", tt.wantBody, w.Body)
			}
			if tt.method == "HEAD" && w.Body.Len() != 0 {
				t.Errorf("HEAD returned a body of %d bytes", w.Body.Len())
			}
		})
	}
}

func TestIndexPolicy(t *testing.T) {
	h := newTestHandler(t)
	w := get(t, h, "GET", "/ui/jobs", nil)
	csp := w.Header().Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
		}
	}
	body := w.Body.String()
	if strings.Contains(body, assetsPlaceholder) {
		t.Errorf("index.html still holds the placeholder %s", assetsPlaceholder)
	}
	// No external URL anywhere: no CDN, no external font.
	for name, a := range h.assets {
		if m := regexp.MustCompile(`(?i)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}`).FindString(string(a.body)); m != "" && path.Ext(name) != ".svg" {
			t.Errorf("%s refers to an external host (%s): the UI must load nothing from outside the agent", name, m)
		}
	}
}

func TestConditionalRequests(t *testing.T) {
	h := newTestHandler(t)
	for _, p := range []string{"/ui/jobs", h.AssetsPath() + "/js/api.js"} {
		w := get(t, h, "GET", p, nil)
		etag := w.Header().Get("ETag")
		if etag == "" {
			t.Fatalf("%s has no ETag", p)
		}
		w = get(t, h, "GET", p, map[string]string{"If-None-Match": etag})
		if w.Code != http.StatusNotModified || w.Body.Len() != 0 {
			t.Errorf("%s with If-None-Match %s: got %d with %d bytes, want 304 and no body", p, etag, w.Code, w.Body.Len())
		}
	}
}

// TestModuleGraph checks that every relative import of every module names an
// embedded file, so a typo cannot ship a UI that fails to load.
func TestModuleGraph(t *testing.T) {
	h := newTestHandler(t)
	imports := regexp.MustCompile(`(?m)^\s*(?:import|export)\s[^'"]*?from\s+['"](\.{1,2}/[^'"]+)['"]`)
	seen := 0
	for name, a := range h.assets {
		if path.Ext(name) != ".js" {
			continue
		}
		for _, m := range imports.FindAllStringSubmatch(string(a.body), -1) {
			seen++
			target := path.Join(path.Dir(name), m[1])
			if _, ok := h.assets[target]; !ok {
				t.Errorf("%s imports %q, which resolves to %s: no such embedded file", name, m[1], target)
			}
		}
	}
	if seen < 10 {
		t.Errorf("found only %d relative imports; the pattern no longer matches the modules", seen)
	}
	// Every page module is routed by app.js.
	pages, err := fs.Glob(static, "static/js/pages/*.js")
	if err != nil {
		t.Fatal(err)
	}
	app := string(h.assets["js/app.js"].body)
	for _, p := range pages {
		if !strings.Contains(app, "'./pages/"+path.Base(p)+"'") {
			t.Errorf("app.js does not import %s", p)
		}
	}
}

func TestVersionIsStable(t *testing.T) {
	h := newTestHandler(t)
	if len(h.Version()) != 16 {
		t.Errorf("version %q: want 16 hex digits", h.Version())
	}
	h2 := newTestHandler(t)
	if h.Version() != h2.Version() {
		t.Errorf("the version is not deterministic: %s vs %s", h.Version(), h2.Version())
	}
}
