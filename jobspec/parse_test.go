package jobspec

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// canonical returns j after Canonicalize, the way Parse returns jobs.
func canonical(j *structs.Job) *structs.Job {
	j.Canonicalize()
	return j
}

func TestParseGood(t *testing.T) {
	dur := func(s string) time.Duration {
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatalf("bad test duration %q: %v", s, err)
		}
		return d
	}
	groupDelay := 5 * time.Second
	groupRestart := &structs.RestartPolicy{Attempts: 4, Interval: 10 * time.Minute, Delay: 20 * time.Second, Mode: "delay"}

	tests := []struct {
		file string
		want *structs.Job
	}{
		{
			file: "minimal.nomad.hcl",
			want: canonical(&structs.Job{
				ID: "minimal",
				TaskGroups: []*structs.TaskGroup{{
					Name: "app", Count: 1,
					Tasks: []*structs.Task{{
						Name: "sleep", Driver: "raw_exec",
						Config: map[string]any{"command": "/bin/sleep", "args": []any{"60"}},
					}},
				}},
			}),
		},
		{
			file: "raw_exec.nomad.hcl",
			want: canonical(&structs.Job{
				ID: "docs", Type: "batch", Datacenters: []string{"dc1"},
				TaskGroups: []*structs.TaskGroup{{
					Name: "example", Count: 1,
					Tasks: []*structs.Task{{
						Name: "webservice", Driver: "raw_exec",
						Config: map[string]any{"command": "my-binary", "args": []any{"-flag", "1"}},
					}},
				}},
			}),
		},
		{
			file: "full.nomad.hcl",
			want: &structs.Job{
				ID: "full", Name: "full-name", Region: "eu", Namespace: "prod", Type: "service",
				Priority: 70, Datacenters: []string{"dc1", "dc2"}, NodePool: "pool-a", AllAtOnce: true,
				Meta: map[string]string{"owner": "team-a", "tier": "2"},
				Constraints: []*structs.Constraint{
					{LTarget: "${attr.kernel.name}", RTarget: "linux", Operand: "="},
					{LTarget: "${attr.nomad.version}", RTarget: ">= 1.5", Operand: "version"},
				},
				TaskGroups: []*structs.TaskGroup{{
					Name: "web", Count: 3, ShutdownDelay: &groupDelay,
					Meta:          map[string]string{"group_key": "g"},
					Constraints:   []*structs.Constraint{{LTarget: "${meta.rack}", RTarget: "r1", Operand: "!="}},
					RestartPolicy: groupRestart,
					ReschedulePolicy: &structs.ReschedulePolicy{
						Attempts: 5, Interval: time.Hour, Delay: 10 * time.Second,
						DelayFunction: "fibonacci", MaxDelay: 2 * time.Minute, Unlimited: false,
					},
					EphemeralDisk: &structs.EphemeralDisk{SizeMB: 500, Sticky: true, Migrate: true},
					Networks: []*structs.NetworkResource{{
						Mode:          "host",
						ReservedPorts: []structs.Port{{Label: "http", Value: 8080, To: 80}},
						DynamicPorts:  []structs.Port{{Label: "metrics"}, {Label: "grpc", To: 9090}},
					}},
					Tasks: []*structs.Task{
						{
							Name: "server", Driver: "raw_exec", User: "nobody",
							KillTimeout: dur("30s"), KillSignal: "SIGINT", Leader: true, ShutdownDelay: dur("3s"),
							Config: map[string]any{
								"command": "/usr/bin/server",
								"args":    []any{"-port", "${NOMAD_PORT_http}", "-v"},
								"ratio":   0.5,
								"workers": 4,
								"debug":   true,
								"labels":  map[string]any{"app": "web"},
								"mount": []any{
									map[string]any{"source": "/a", "target": "/b"},
									map[string]any{"source": "/c", "target": "/d"},
								},
							},
							Env:       map[string]string{"GREETING": "hello", "PORT": "${NOMAD_PORT_http}"},
							Meta:      map[string]string{"task_key": "t"},
							Resources: &structs.Resources{CPU: 500, MemoryMB: 256, MemoryMaxMB: 512, DiskMB: 100},
							LogConfig: &structs.LogConfig{MaxFiles: 3, MaxFileSizeMB: 15},
							Constraints: []*structs.Constraint{
								{LTarget: "${node.class}", RTarget: "^web-.*$", Operand: "regexp"},
							},
							// A task's partial restart block is merged over its group's.
							RestartPolicy: &structs.RestartPolicy{Attempts: 1, Interval: 10 * time.Minute, Delay: 20 * time.Second, Mode: "delay"},
						},
						{
							Name: "sidecar", Driver: "raw_exec",
							Env:           map[string]string{"MODE": "side"},
							Config:        map[string]any{"command": "/bin/true"},
							Resources:     &structs.Resources{Cores: 2, MemoryMB: 64},
							KillTimeout:   structs.DefaultKillTimeout,
							LogConfig:     structs.DefaultLogConfig(),
							RestartPolicy: groupRestart,
						},
					},
				}},
			},
		},
		{
			file: "vars.nomad.hcl",
			want: canonical(&structs.Job{
				ID: "vars", Datacenters: []string{"dc1"},
				Meta: map[string]string{
					"team": "core", "name": "REDIS:7", "joined": "dc1,extra", "fmt": "x-007",
					"lower": "abc", "split_len": "3", "strlen": "5", "minmax": "1-3", "abs": "4",
					"coalesce": "", "contains": "true", "keys": "a,b", "values": "2,1",
					"lookup": "default", "replace": "a_b_c", "trimspace": "t", "tostring": "5",
					"tonumber": "7", "json": `{"a":[1,2]}`, "jsondec": "v", "element": "q",
					"flatten": "3", "distinct": "a,b", "sort": "a,b,c", "regex": "123",
					"numbers": "[0,1,2]", "untyped": "plain",
				},
				TaskGroups: []*structs.TaskGroup{{
					Name: "cache", Count: 2,
					Tasks: []*structs.Task{{
						Name: "redis", Driver: "raw_exec",
						Config: map[string]any{
							"command": "/bin/echo",
							"args":    []any{"tag-dc1", "tag-extra"},
							"image":   "redis:7",
						},
					}},
				}},
			}),
		},
		{
			file: "runtime.nomad.hcl",
			want: canonical(&structs.Job{
				ID: "runtime",
				Constraints: []*structs.Constraint{
					{LTarget: "${attr.kernel.name}", RTarget: "linux", Operand: "="},
					{LTarget: "${attr.unique.network.ip-address}", Operand: "is_set"},
				},
				TaskGroups: []*structs.TaskGroup{{
					Name: "g", Count: 1,
					Networks: []*structs.NetworkResource{{DynamicPorts: []structs.Port{{Label: "http"}}}},
					Tasks: []*structs.Task{{
						Name: "t", Driver: "raw_exec",
						Config: map[string]any{
							"command": "/bin/sh",
							"args": []any{"-c",
								"echo ${NOMAD_ALLOC_ID} on ${node.unique.name} at ${NOMAD_ADDR_http} in ${meta.rack}"},
						},
						Env: map[string]string{
							"LISTEN":  "0.0.0.0:${NOMAD_PORT_http}",
							"HOMEDIR": "${HOME}/data",
							"ESCAPED": "${not_resolved}",
							"DC":      "${node.datacenter}",
							"KEY":     "${NOMAD_META_my-key}",
						},
					}},
				}},
			}),
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := ParseFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatalf("ParseFile: got error %v, want none", err)
			}
			want := tt.want
			want.Canonicalize()
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("job mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseBad(t *testing.T) {
	tests := []struct {
		file string
		pos  string // line:col of the first problem
		frag string
	}{
		{"syntax.nomad.hcl", "3:13", "Invalid expression"},
		{"unknown_block.nomad.hcl", "3:5", `Blocks of type "tsak" are not expected here. Did you mean "task"?`},
		{"unknown_attr.nomad.hcl", "8:5", `Unsupported argument: An argument named "cuont" is not expected here. Did you mean "count"?`},
		{"negative_count.nomad.hcl", "3:13", "cannot be negative, got -1"},
		{"no_tasks.nomad.hcl", "2:3", `group "lonely" has no task block`},
		{"no_driver.nomad.hcl", "3:5", `task "t" in group "g" has no driver`},
		{"bad_duration.nomad.hcl", "5:22", `"kill_timeout" is not a duration: "10 parsecs"`},
		{"bad_operator.nomad.hcl", "4:17", `unknown operator "=~"`},
		{"wrong_type.nomad.hcl", "3:13", `"count" must be number`},
		{"duplicate_task.nomad.hcl", "6:10", `task "t" is already defined in group "g" at line 3`},
		{"unsupported_service.nomad.hcl", "5:18", `Consul is not supported by nomadlike; use provider = "nomad"`},
		{"service_port.nomad.hcl", "8:14", `port "htp" is not a port of group "g"'s network`},
		{"service_check.nomad.hcl", "8:18", `check type "grpc" is not supported by nomadlike; use "http" (a gRPC health gateway)`},
		{"check_port.nomad.hcl", "13:22", `check port "admin" is not a port of group "g"'s network`},
		{"service_check_interval.nomad.hcl", "9:7", `Services[0].Checks[0].Interval: a check needs an interval`},
		{"distinct_hosts.nomad.hcl", "3:22", `"distinct_hosts" must be bool (for example true)`},
		{"validate.nomad.hcl", "2:10", `Type: unknown job type "daemon" (use "service", "batch", "system" or "sysbatch")`},
		{"validate_restart.nomad.hcl", "3:5", `TaskGroups["g"].RestartPolicy.Interval: 10 attempts`},
		{"unknown_var.nomad.hcl", "10:17", "var.imgae is not defined; did you mean var.image?"},
		{"bare_runtime.nomad.hcl", "3:17", `must be written inside a string, for example "${attr.kernel.name}"`},
		{"unset_var.nomad.hcl", "1:1", `variable "image" has no default and no value: set it with -var image=VALUE`},
		{"update_health_check.nomad.hcl", "3:20", `Invalid update: health_check must be "checks", "task_states" or "manual", got "http"`},
		{"update_min_healthy.nomad.hcl", "4:26", `min_healthy_time (10m0s) must be less than healthy_deadline (5m0s)`},
		{"update_typo.nomad.hcl", "4:7", `An argument named "max_paralel" is not expected here. Did you mean "max_parallel"?`},
		{"update_auto_promote.nomad.hcl", "3:20", `auto_promote needs canary > 0`},
		{"periodic_both.nomad.hcl", "5:5", `Conflicting periodic: set either cron or crons, not both`},
		{"periodic_bad_cron.nomad.hcl", "4:24", `Periodic.Spec[1]: invalid cron expression "61 * * * *"`},
		{"periodic_service.nomad.hcl", "2:3", `periodic jobs must be of type "batch" or "sysbatch", not "service"`},
		{"periodic_no_cron.nomad.hcl", "3:3", `Missing cron: a periodic block needs crons`},
		{"periodic_time_zone.nomad.hcl", "5:17", `Periodic.TimeZone: unknown time zone "Mars/Olympus_Mons"`},
		{"parameterized_payload.nomad.hcl", "4:15", `payload must be "optional", "required" or "forbidden", got "maybe"`},
		{"parameterized_meta.nomad.hcl", "5:21", `meta key "b" is both required and optional`},
		{"parameterized_periodic.nomad.hcl", "6:3", `a job cannot be both periodic and parameterized`},
		{"migrate_health_check.nomad.hcl", "4:22", `Invalid migrate: health_check must be "checks" or "task_states", got "manual"`},
		{"migrate_deadline.nomad.hcl", "3:24", `min_healthy_time (10m0s) must not be more than healthy_deadline (5m0s)`},
		{"max_client_disconnect.nomad.hcl", "3:29", `"max_client_disconnect" is not a duration: "an hour"`},
		{"disconnect_conflict.nomad.hcl", "3:5", `set either max_client_disconnect or disconnect { lost_after }, not both`},
		{"disconnect_replace.nomad.hcl", "5:7", `argument "replace" is not supported yet by nomadlike`},
		{"dynamic_typo.nomad.hcl", "3:13", `Blocks of type "constrant" are not expected here. Did you mean "constraint"?`},
		{"dynamic_unsupported.nomad.hcl", "5:15", `Unsupported feature: Vault is not supported by nomadlike; keep secrets in Nomad variables`},
		{"dynamic_for_each.nomad.hcl", "5:20", `Cannot use a number value in for_each`},
		{"dynamic_bad_value.nomad.hcl", "8:20", `"static" must be number (for example 3), got string`},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join("testdata", "bad", tt.file)
			job, err := ParseFile(path)
			if err == nil {
				t.Fatalf("ParseFile: got job %q and no error, want an error at %s", job.ID, tt.pos)
			}
			var perr *Error
			if !errors.As(err, &perr) {
				t.Fatalf("got error of type %T, want *jobspec.Error: %v", err, err)
			}
			first := strings.SplitN(err.Error(), "\n", 2)[0]
			if wantPrefix := path + ":" + tt.pos + ": "; !strings.HasPrefix(first, wantPrefix) {
				t.Errorf("got first line %q, want prefix %q", first, wantPrefix)
			}
			if !strings.Contains(first, tt.frag) {
				t.Errorf("got first line %q, want it to contain %q", first, tt.frag)
			}
			var coded *structs.CodedError
			if !errors.As(err, &coded) || coded.Code != http.StatusBadRequest {
				t.Errorf("got coded error %v, want a *structs.CodedError with code 400", coded)
			}
		})
	}
}

func TestParseReportsEveryProblemSorted(t *testing.T) {
	src := `job "many" {
  group "g" {
    count = -2
    task "t" {
      driver       = "raw_exec"
      kill_timeout = "forever"
      templte {}
    }
  }
  priorty = 3
}
`
	_, err := Parse("many.hcl", []byte(src))
	if err == nil {
		t.Fatal("Parse: got no error, want three")
	}
	var got []string
	for _, line := range strings.Split(err.Error(), "\n") {
		got = append(got, strings.SplitN(line, ": ", 2)[0])
	}
	want := []string{"many.hcl:3:13", "many.hcl:6:22", "many.hcl:7:7", "many.hcl:10:3"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("problem locations (-want +got):\n%s\nfull error:\n%v", diff, err)
	}
}

func TestParseFileMissing(t *testing.T) {
	_, err := ParseFile(filepath.Join(t.TempDir(), "nope.nomad.hcl"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("got %v, want an error matching os.ErrNotExist", err)
	}
}
