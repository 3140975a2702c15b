package agent

import (
	"strings"
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"
)

// TestCompatNodeMeta drives dynamic node metadata as `nomad node meta
// read|apply` does (GET/POST /v1/client/metadata through the official
// client): Nomad's default connect.* keys are static meta, an applied key
// reaches the servers and lets a job constrained on it be placed, a null
// removes a key (a static one too).
func TestCompatNodeMeta(t *testing.T) {
	_, c, nodeID := compatAgent(t, func(cfg *Config) { cfg.Client.Meta = map[string]string{"team": "infra"} })
	meta := c.Nodes().Meta()
	got, err := meta.Read(nodeID, nil)
	if err != nil {
		t.Fatalf("Meta().Read: %v", err)
	}
	for k, want := range map[string]string{
		"team": "infra", "connect.sidecar_image": "docker.io/envoyproxy/envoy:v${NOMAD_envoy_version}",
		"connect.gateway_image": "docker.io/envoyproxy/envoy:v${NOMAD_envoy_version}", "connect.log_level": "info", "connect.proxy_concurrency": "1",
	} {
		if got.Static[k] != want || got.Meta[k] != want {
			t.Errorf("meta %q: static %q, merged %q; want %q", k, got.Static[k], got.Meta[k], want)
		}
	}
	if node, _, err := c.Nodes().Info(nodeID, nil); err != nil || node.Meta["connect.log_level"] != "info" {
		t.Errorf("the registered node's meta lacks Nomad's connect defaults: %v, %v", node.Meta, err)
	}

	job := nomad.NewServiceJob("racked", "racked", "global", 50)
	job.Constrain(nomad.NewConstraint("${meta.rack}", "=", "r1"))
	job.AddTaskGroup(nomad.NewTaskGroup("g", 1).AddTask(shTask("t", "sleep 300")))
	if _, _, err := c.Jobs().Register(job, nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the job to be blocked on the missing meta", 30*time.Second, func() (bool, string) {
		s, _, err := c.Jobs().Summary("racked", nil)
		if err != nil {
			return false, err.Error()
		}
		return s.Summary["g"].Queued == 1, "not queued yet"
	})

	applied, err := meta.Apply(&nomad.NodeMetaApplyRequest{NodeID: nodeID, Meta: map[string]*string{"rack": ptr("r1")}}, nil)
	if err != nil {
		t.Fatalf("Meta().Apply: %v", err)
	}
	if applied.Meta["rack"] != "r1" || applied.Dynamic["rack"] == nil || *applied.Dynamic["rack"] != "r1" || applied.Static["rack"] != "" {
		t.Errorf("Apply response = %+v, want rack=r1 in Meta and Dynamic only", applied)
	}
	waitAllocs(t, c, "racked", 1, func(s *nomad.AllocationListStub) bool { return s.ClientStatus == "running" })

	removed, err := meta.Apply(&nomad.NodeMetaApplyRequest{Meta: map[string]*string{"rack": nil, "team": nil}}, nil)
	if err != nil {
		t.Fatalf("Meta().Apply of nulls (node of the agent asked): %v", err)
	}
	if _, ok := removed.Meta["rack"]; ok {
		t.Errorf("rack still in Meta after a null: %v", removed.Meta)
	}
	if _, ok := removed.Meta["team"]; ok || removed.Static["team"] != "infra" {
		t.Errorf("a null on static key team: merged %v, static %v; want it gone from Meta, kept in Static", removed.Meta, removed.Static)
	}
	if v, ok := removed.Dynamic["team"]; !ok || v != nil {
		t.Errorf("Dynamic[team] = %v, %v; want a null", v, ok)
	}
	waitFor(t, "the servers to see the removal", 30*time.Second, func() (bool, string) {
		n, _, err := c.Nodes().Info(nodeID, nil)
		if err != nil {
			return false, err.Error()
		}
		_, rack := n.Meta["rack"]
		_, team := n.Meta["team"]
		return !rack && !team, "rack or team still set"
	})

	for name, req := range map[string]*nomad.NodeMetaApplyRequest{
		"an empty key": {Meta: map[string]*string{"": ptr("x")}},
		"no meta":      {},
	} {
		if _, err := meta.Apply(req, nil); err == nil || !strings.Contains(err.Error(), "400") {
			t.Errorf("Apply of %s: %v, want a 400", name, err)
		}
	}
	if _, err := meta.Read("00000000-0000-0000-0000-000000000000", nil); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("Read of an unknown node: %v, want a 404", err)
	}
}
