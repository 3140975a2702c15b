package agent

import (
	"net/http"
)

const uiPlaceholderPage = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>nomadlike</title></head>
<body>
<h1>nomadlike</h1>
<p>The web UI is not built yet; it is planned for a later release.</p>
<p>The HTTP API is available: try <a href="/v1/jobs">/v1/jobs</a>, <a href="/v1/nodes">/v1/nodes</a>,
<a href="/v1/allocations">/v1/allocations</a> or <a href="/v1/agent/self">/v1/agent/self</a>
(add <code>?pretty</code> for indented JSON).</p>
</body>
</html>
`

// uiPlaceholder serves a page saying the UI is not there yet, linking the API.
func uiPlaceholder(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write([]byte(uiPlaceholderPage))
}
