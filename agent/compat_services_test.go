package agent

import (
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"
)

// TestCompatOfficialClientServices registers a job with a Nomad-provider
// service through HashiCorp's official client and reads the registration
// back with Services().List, Get and Delete.
func TestCompatOfficialClientServices(t *testing.T) {
	a := startDevAgent(t)
	c, err := nomad.NewClient(&nomad.Config{Address: "http://" + a.HTTPAddr()})
	if err != nil {
		t.Fatal(err)
	}
	job := nomad.NewServiceJob("svc", "svc", "global", 50)
	job.Datacenters = []string{"dc1"}
	task := nomad.NewTask("t", "raw_exec").
		SetConfig("command", "/bin/sh").
		SetConfig("args", []string{"-c", "sleep 300"})
	tg := nomad.NewTaskGroup("g", 1).AddTask(task)
	tg.Networks = []*nomad.NetworkResource{{DynamicPorts: []nomad.Port{{Label: "http"}}}}
	tg.Services = []*nomad.Service{{Name: "web", PortLabel: "http", Tags: []string{"v1"}, Provider: "nomad"}}
	job.AddTaskGroup(tg)
	if _, _, err := c.Jobs().Register(job, nil); err != nil {
		t.Fatalf("Jobs().Register: %v", err)
	}
	var regs []*nomad.ServiceRegistration
	waitFor(t, "the service registration", 60*time.Second, func() (bool, string) {
		regs, _, err = c.Services().Get("web", nil)
		if err != nil {
			return false, err.Error()
		}
		return len(regs) == 1, "no registration yet"
	})
	r := regs[0]
	if r.ServiceName != "web" || r.JobID != "svc" || r.Namespace != "default" || r.Port == 0 || r.Address == "" ||
		r.AllocID == "" || r.NodeID == "" || len(r.Tags) != 1 || r.Tags[0] != "v1" || r.CreateIndex == 0 {
		t.Errorf("Services().Get: got %+v", r)
	}
	list, _, err := c.Services().List(nil)
	if err != nil || len(list) != 1 || list[0].Namespace != "default" || len(list[0].Services) != 1 ||
		list[0].Services[0].ServiceName != "web" || list[0].Services[0].Tags[0] != "v1" {
		t.Errorf("Services().List: got %+v, %v", list, err)
	}
	if _, err := c.Services().Delete("web", r.ID, nil); err != nil {
		t.Errorf("Services().Delete: %v", err)
	}
	if _, err := c.Services().Delete("web", "no-such-id", nil); err == nil {
		t.Error("Services().Delete of an unknown ID succeeded")
	}
	if _, _, err := c.Jobs().Deregister("svc", false, nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "no registrations after the job stopped", 60*time.Second, func() (bool, string) {
		regs, _, err := c.Services().Get("web", nil)
		if err != nil {
			return false, err.Error()
		}
		return len(regs) == 0, "still registered"
	})
}
