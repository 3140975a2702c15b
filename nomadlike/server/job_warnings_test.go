package server

import (
	"strings"
	"testing"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// TestJobWarningsIngressTags: route tags with Fabio options the ingress
// does not support, or malformed, are warned about by name (not refused).
func TestJobWarningsIngressTags(t *testing.T) {
	job := &structs.Job{TaskGroups: []*structs.TaskGroup{{
		Name:     "web",
		Services: []*structs.Service{{Name: "site", Tags: []string{"urlprefix-/ok strip=/ok", "urlprefix-/x redirect=301,https://a"}}},
		Tasks: []*structs.Task{{Name: "t", Driver: "raw_exec",
			Services: []*structs.Service{{Name: "db", Tags: []string{"urlprefix-:5432", "primary"}}}}},
	}}}
	ws := JobWarnings(job)
	if len(ws) != 2 {
		t.Fatalf("want 2 warnings, got %q", ws)
	}
	if !strings.Contains(ws[0], `service "site"`) || !strings.Contains(ws[0], "redirect") {
		t.Errorf("unsupported option: %q", ws[0])
	}
	if !strings.Contains(ws[1], `service "db"`) || !strings.Contains(ws[1], "proto=tcp") {
		t.Errorf("malformed route: %q", ws[1])
	}
}
