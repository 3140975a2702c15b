package agent

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

func TestHTTPServicesRead(t *testing.T) {
	fake := newFakeServer(t)
	ts := testAPI(t, fake, nil)
	code, hdr, body := do(t, "GET", ts.URL+"/v1/services", "")
	if code != 200 || strings.TrimSpace(body) != "[]" || hdr.Get("X-Nomad-Index") != "1" {
		t.Fatalf("empty list: %d %s %q", code, hdr.Get("X-Nomad-Index"), body)
	}
	// A blocking read of the service wakes on its first registration.
	type result struct {
		code int
		body string
	}
	done := make(chan result, 1)
	go func() {
		c, _, b := do(t, "GET", ts.URL+"/v1/service/web?index=1&wait=30s", "")
		done <- result{c, b}
	}()
	regs := []*structs.ServiceRegistration{
		{ID: "b", ServiceName: "web", Address: "10.0.0.2", Port: 2, Tags: []string{"v2"}, AllocID: "a2", NodeID: "n"},
		{ID: "a", ServiceName: "web", Address: "10.0.0.1", Port: 1, Tags: []string{"v1"}, AllocID: "a1", NodeID: "n"},
		{ID: "c", ServiceName: "db", Address: "10.0.0.3", Port: 3, AllocID: "a1", NodeID: "n"},
	}
	if err := fake.st.UpsertServiceRegistrations(5, regs); err != nil {
		t.Fatal(err)
	}
	var r result
	select {
	case r = <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("blocking query did not return after a registration")
	}
	var got []*structs.ServiceRegistration
	if err := json.Unmarshal([]byte(r.body), &got); err != nil || r.code != 200 || len(got) != 2 || got[0].ID != "a" || got[1].Namespace != "default" {
		t.Fatalf("service web: %d %s (%v)", r.code, r.body, err)
	}
	_, _, body = do(t, "GET", ts.URL+"/v1/service/web?tag=v2", "")
	if !strings.Contains(body, `"ID":"b"`) || strings.Contains(body, `"ID":"a"`) {
		t.Errorf("tag filter: %s", body)
	}
	_, _, body = do(t, "GET", ts.URL+"/v1/services", "")
	want := `[{"Namespace":"default","Services":[{"ServiceName":"db","Tags":[]},{"ServiceName":"web","Tags":["v1","v2"]}]}]`
	if strings.TrimSpace(body) != want {
		t.Errorf("list:\n got %s\nwant %s", body, want)
	}
	if code, _, body := do(t, "GET", ts.URL+"/v1/service/web?namespace=*", ""); code != 400 || !strings.Contains(body, "name one namespace") {
		t.Errorf("namespace=*: %d %s", code, body)
	}
	if code, _, _ := do(t, "DELETE", ts.URL+"/v1/service/web/a", ""); code != http.StatusNotImplemented {
		t.Errorf("delete on a server without registrations support: %d, want 501", code)
	}
}

func TestHTTPServicesWriteErrors(t *testing.T) {
	a := startDevAgent(t)
	base := "http://" + a.HTTPAddr()
	if code, _, body := do(t, "PUT", base+"/v1/node/x/services", `{"AllocID":"a"}`); code != 403 || !strings.Contains(body, "secret") {
		t.Errorf("no token: %d %s", code, body)
	}
	if code, _, body := do(t, "PUT", base+"/v1/node/x/services", `{"AllocID":`, "X-Nomad-Token", "s"); code != 400 {
		t.Errorf("bad JSON: %d %s", code, body)
	}
	if code, _, body := do(t, "DELETE", base+"/v1/service/web/nope", ""); code != 404 || !strings.Contains(body, "no registration") {
		t.Errorf("delete unknown: %d %s", code, body)
	}
}
