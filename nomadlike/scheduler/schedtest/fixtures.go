package schedtest

import (
	"fmt"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// Node returns a ready node in dc1 with 4,000 MHz, 8,192 MB and 100 GB of
// disk, Linux attributes, and healthy raw_exec, exec and docker drivers.
func Node() *structs.Node {
	id := structs.GenerateUUID()
	healthy := func() *structs.DriverInfo { return &structs.DriverInfo{Detected: true, Healthy: true} }
	return &structs.Node{
		ID:         id,
		SecretID:   structs.GenerateUUID(),
		Datacenter: "dc1",
		Name:       "node-" + structs.ShortID(id),
		NodePool:   structs.DefaultNodePool,
		Attributes: map[string]string{
			"kernel.name":               "linux",
			"cpu.arch":                  "amd64",
			"nomad.version":             "1.7.2",
			"unique.network.ip-address": "192.168.0.100",
			"cpu.numcores":              "4",
		},
		Meta: map[string]string{"rack": "r1"},
		NodeResources: &structs.NodeResources{
			Cpu:            structs.NodeCpuResources{CpuShares: 4000, TotalCpuCores: 4},
			Memory:         structs.NodeMemoryResources{MemoryMB: 8192},
			Disk:           structs.NodeDiskResources{DiskMB: 100 * 1024},
			MinDynamicPort: structs.MinDynamicPort,
			MaxDynamicPort: structs.MaxDynamicPort,
		},
		SchedulingEligibility: structs.NodeSchedulingEligible,
		Status:                structs.NodeStatusReady,
		Drivers: map[string]*structs.DriverInfo{
			"raw_exec": healthy(),
			"exec":     healthy(),
			"docker":   healthy(),
		},
	}
}

// Job returns a canonicalized service job in dc1 with one group "web" of 10
// allocations, each one raw_exec task "web" asking for 500 MHz, 256 MB and a
// 150 MB ephemeral disk.
func Job() *structs.Job {
	id := "job-" + structs.ShortID(structs.GenerateUUID())
	j := &structs.Job{
		ID:          id,
		Namespace:   structs.DefaultNamespace,
		Type:        structs.JobTypeService,
		Priority:    50,
		Datacenters: []string{"dc1"},
		TaskGroups: []*structs.TaskGroup{{
			Name:          "web",
			Count:         10,
			EphemeralDisk: &structs.EphemeralDisk{SizeMB: 150},
			Tasks: []*structs.Task{{
				Name:      "web",
				Driver:    "raw_exec",
				Config:    map[string]any{"command": "/bin/sleep", "args": []string{"3600"}},
				Env:       map[string]string{"FOO": "bar"},
				Resources: &structs.Resources{CPU: 500, MemoryMB: 256},
			}},
		}},
		Meta: map[string]string{"owner": "team-a"},
	}
	j.Canonicalize()
	return j
}

// BatchJob returns Job as a batch job with the batch defaults.
func BatchJob() *structs.Job {
	j := Job()
	j.Type = structs.JobTypeBatch
	for _, tg := range j.TaskGroups {
		tg.RestartPolicy = structs.DefaultRestartPolicy(j.Type)
		tg.ReschedulePolicy = structs.DefaultReschedulePolicy(j.Type)
	}
	return j
}

// Eval returns a pending evaluation of job triggered by a registration.
func Eval(job *structs.Job) *structs.Evaluation {
	return &structs.Evaluation{
		ID:             structs.GenerateUUID(),
		Namespace:      job.Namespace,
		Priority:       job.Priority,
		Type:           job.Type,
		TriggeredBy:    structs.EvalTriggerJobRegister,
		JobID:          job.ID,
		JobModifyIndex: job.JobModifyIndex,
		Status:         structs.EvalStatusPending,
	}
}

// Nodes adds n nodes built by Node to h's state, each changed by edit when
// edit is not nil, and returns them.
func (h *Harness) Nodes(n int, edit func(i int, node *structs.Node)) []*structs.Node {
	out := make([]*structs.Node, n)
	for i := range out {
		node := Node()
		node.Name = fmt.Sprintf("node-%d", i)
		if edit != nil {
			edit(i, node)
		}
		h.State.UpsertNode(node)
		out[i] = node
	}
	return out
}
