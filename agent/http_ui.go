package agent

import (
	"fmt"
	"net/http"
	"sync"

	"github.com/nomadlike/nomadlike/ui"
)

// uiHandler builds the web UI's handler once, on first use.
var uiHandler = sync.OnceValues(ui.NewHandler)

// serveUI serves the web UI (package ui) under /ui/: its versioned
// assets and, for every other path, the single-page app's index.html.
func serveUI(w http.ResponseWriter, r *http.Request) {
	h, err := uiHandler()
	if err != nil {
		// Only a broken build gets here: the embedded files are fixed at compile time.
		http.Error(w, fmt.Sprintf("the web UI is unavailable in this build: %v; the HTTP API under /v1 still works", err),
			http.StatusInternalServerError)
		return
	}
	h.ServeHTTP(w, r)
}
