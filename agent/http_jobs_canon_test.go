package agent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// TestDecodeJobBodyMatchesTreeCanonicalization checks decodeJobBody (a
// typed decode plus a decode of which keys are set) against the way it
// worked before: the body parsed generically, Nomad's defaults filled in
// the tree, marshalled and decoded typed (treeDecodeJobBody below, kept
// as the reference). Bodies are a full job with each defaulted key
// randomly absent, null, zero or set, for every job type.
func TestDecodeJobBodyMatchesTreeCanonicalization(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 3))
	pick := func(obj map[string]any, key string, set any, zero any) {
		switch rng.IntN(4) {
		case 0:
			delete(obj, key)
		case 1:
			obj[key] = nil
		case 2:
			obj[key] = zero
		default:
			obj[key] = set
		}
	}
	block := func(fields map[string][2]any) map[string]any {
		if rng.IntN(5) == 0 {
			return nil
		}
		obj := map[string]any{}
		for k, v := range fields {
			pick(obj, k, v[0], v[1])
		}
		return obj
	}
	update := map[string][2]any{"Stagger": {int64(7e9), 0}, "MaxParallel": {3, 0}, "HealthCheck": {"task_states", ""},
		"MinHealthyTime": {int64(2e9), 0}, "HealthyDeadline": {int64(9e9), 0}, "ProgressDeadline": {int64(11e9), 0},
		"AutoRevert": {true, false}, "AutoPromote": {true, false}, "Canary": {2, 0}}
	resched := map[string][2]any{"Attempts": {4, 0}, "Interval": {int64(6e10), 0}, "Delay": {int64(3e9), 0},
		"DelayFunction": {"fibonacci", ""}, "MaxDelay": {int64(5e10), 0}, "Unlimited": {true, false}}
	migrate := map[string][2]any{"MaxParallel": {2, 0}, "HealthCheck": {"task_states", ""}, "MinHealthyTime": {int64(4e9), 0}, "HealthyDeadline": {int64(8e9), 0}}
	restart := map[string][2]any{"Attempts": {5, 0}, "Interval": {int64(7e10), 0}, "Delay": {int64(1e9), 0}, "Mode": {"delay", ""}, "RenderTemplates": {true, false}}
	disk := map[string][2]any{"SizeMB": {500, 0}, "Sticky": {true, false}, "Migrate": {true, false}}
	periodic := map[string][2]any{"Enabled": {true, false}, "Spec": {"*/5 * * * *", "*/5 * * * *"}, "SpecType": {"cron", ""}, "ProhibitOverlap": {true, false}, "TimeZone": {"Europe/Paris", ""}}
	types := []any{"service", "batch", "system", "sysbatch", "", nil}
	check := func(body []byte) {
		t.Helper()
		var got, want structs.JobRegisterRequest
		gotErr := decodeJobBody(httptest.NewRequest(http.MethodPut, "/v1/jobs", bytes.NewReader(body)), &got)
		wantErr := treeDecodeJobBody(httptest.NewRequest(http.MethodPut, "/v1/jobs", bytes.NewReader(body)), &want)
		if (gotErr == nil) != (wantErr == nil) {
			t.Fatalf("body %s: error %v, the tree canonicalization's %v", body, gotErr, wantErr)
		}
		if !reflect.DeepEqual(got, want) {
			g, _ := json.Marshal(got)
			w, _ := json.Marshal(want)
			t.Fatalf("body %s:\ngot  %s\nwant %s", body, g, w)
		}
	}
	// An update block that asks for nothing is not inherited by groups.
	for _, typ := range []string{"service", "system", "batch"} {
		check(fmt.Appendf(nil, `{"Job":{"ID":"a","Type":%q,"Update":{"Stagger":0,"MaxParallel":0,"HealthCheck":"","MinHealthyTime":0,"HealthyDeadline":0,"ProgressDeadline":0,"Canary":0},"TaskGroups":[{"Name":"g","Tasks":[{"Name":"t"}]}]}}`, typ))
	}
	check([]byte(`{"Job":{"ID":"a","TaskGroups":[{"Name":"g","Count":null,"Scaling":{"Min":4},"Tasks":[{"Name":"t","KillTimeout":null}]}]}}`))
	check([]byte(`{"Job":null}`))
	check([]byte(`{}`))
	for i := range 3000 {
		job := map[string]any{"ID": fmt.Sprintf("j%d", i), "Datacenters": []any{"dc1"}, "Type": types[rng.IntN(len(types))]}
		for k, fields := range map[string]map[string][2]any{"Update": update, "Reschedule": resched, "Migrate": migrate} {
			if b := block(fields); b != nil || rng.IntN(2) == 0 {
				job[k] = b
			}
		}
		if rng.IntN(4) == 0 {
			job["Periodic"] = block(periodic)
		}
		var groups []any
		for g := range 1 + rng.IntN(2) {
			tg := map[string]any{"Name": fmt.Sprintf("g%d", g)}
			pick(tg, "Count", 3, 0)
			if rng.IntN(3) == 0 {
				sc := map[string]any{}
				pick(sc, "Min", 2, 0)
				pick(sc, "Max", 9, 9)
				tg["Scaling"] = sc
			}
			for k, fields := range map[string]map[string][2]any{"Update": update, "ReschedulePolicy": resched, "Migrate": migrate, "RestartPolicy": restart, "EphemeralDisk": disk} {
				if b := block(fields); b != nil || rng.IntN(2) == 0 {
					tg[k] = b
				}
			}
			task := map[string]any{"Name": "t", "Driver": "raw_exec", "Config": map[string]any{"command": "/bin/true"}}
			pick(task, "KillTimeout", int64(9e9), 0)
			tg["Tasks"] = []any{task}
			groups = append(groups, tg)
		}
		job["TaskGroups"] = groups
		body, err := json.Marshal(map[string]any{"Job": job})
		if err != nil {
			t.Fatal(err)
		}
		check(body)
	}
}

// TestDecodeJobBodyErrorsNameTheField checks that a body refused by the
// typed decode names the field and the offset as sent.
func TestDecodeJobBodyErrorsNameTheField(t *testing.T) {
	for body, want := range map[string]string{
		`{"Job":{"ID":"a","TaskGroups":[{"Name":"g","Count":"x"}]}}`:                   `"Job.TaskGroups.Count" must be int`,
		`{"Job":{"ID":"a","Update":{"Stagger":"30s"}}}`:                                `"Job.Update.Stagger" must be time.Duration`,
		`{"Job":{"ID":"a","Reschedule":{"Attempts":"x"},"TaskGroups":[{"Name":"g"}]}}`: `"Job.Reschedule.Attempts" must be int`,
		`{"Job":{"ID":"a"}} x`: `data after the JSON value`,
	} {
		var req structs.JobRegisterRequest
		err := decodeJobBody(httptest.NewRequest(http.MethodPut, "/v1/jobs", strings.NewReader(body)), &req)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("body %s: got %v, want an error with %q", body, err, want)
		}
	}
}

// treeDecodeJobBody decodes a request carrying a job ({"Job": {...}, ...}) and
// applies, on the JSON, the defaults Nomad's agent applies to it: Nomad's
// HTTP layer decodes into the official client's types, where every field
// is a pointer, and calls their Canonicalize, so a null or absent field
// (the stock CLI sends many) gets Nomad's default while an explicit zero
// stays zero. Our structs cannot tell null from zero once decoded, so the
// defaults are filled in the JSON tree before the final decode.
func treeDecodeJobBody(r *http.Request, out any) error {
	if r.Body == nil {
		return structs.NewBadRequest("request body is empty; send a JSON object")
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	// One generic parse feeds the canonicalization and one typed decode
	// reads its result. The typed decode of the body as sent runs only to
	// explain a body refused on the way, with the offsets the user sent.
	var tree map[string]any
	if jsonDepthOverflow(body, maxJSONDepth) < 0 && treeDecodeTree(body, &tree) == nil {
		if job, ok := tree["Job"].(map[string]any); ok {
			treeCanonicalizeJobJSON(job)
			canon, err := json.Marshal(tree)
			if err != nil {
				return err
			}
			canonErr := decodeJSON(canon, out)
			if canonErr == nil {
				return nil
			}
			reflect.ValueOf(out).Elem().SetZero()
			if err := decodeJSON(body, out); err != nil {
				return err
			}
			return canonErr
		}
	}
	return decodeJSON(body, out)
}

// treeDecodeTree decodes body, exactly one JSON value, into tree with numbers
// kept as json.Number.
func treeDecodeTree(body []byte, tree *map[string]any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(tree); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("data after the JSON value")
	}
	return nil
}

// treeJsonObj returns v as a JSON object, nil if it is null or not an object.
func treeJsonObj(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// treeFillNull sets each key of defaults that obj lacks or holds null.
func treeFillNull(obj, defaults map[string]any) {
	for k, v := range defaults {
		if cur, ok := obj[k]; !ok || cur == nil {
			obj[k] = v
		}
	}
}

// treeMergeNonNull returns a copy of base overlaid with the non-null fields of over.
func treeMergeNonNull(base, over map[string]any) map[string]any {
	out := maps.Clone(base)
	for k, v := range over {
		if v != nil {
			out[k] = v
		}
	}
	return out
}

func treeNs(d time.Duration) json.Number { return json.Number(treeItoa(int64(d))) }

func treeItoa(i int64) string { return strconv.FormatInt(i, 10) }

// Nomad's defaults, as the official client's Canonicalize methods set them.
func treeDefaultUpdateJSON() map[string]any {
	return map[string]any{
		"Stagger": treeNs(30 * time.Second), "MaxParallel": json.Number("1"), "HealthCheck": structs.UpdateStrategyHealthCheckChecks,
		"MinHealthyTime": treeNs(10 * time.Second), "HealthyDeadline": treeNs(5 * time.Minute),
		"ProgressDeadline": treeNs(10 * time.Minute), "AutoRevert": false, "AutoPromote": false, "Canary": json.Number("0"),
	}
}

func treeDefaultRescheduleJSON(jobType string) map[string]any {
	p := structs.DefaultReschedulePolicy(jobType)
	return map[string]any{
		"Attempts": json.Number(treeItoa(int64(p.Attempts))), "Interval": treeNs(p.Interval), "Delay": treeNs(p.Delay),
		"DelayFunction": p.DelayFunction, "MaxDelay": treeNs(p.MaxDelay), "Unlimited": p.Unlimited,
	}
}

func treeDefaultRestartJSON(jobType string) map[string]any {
	p := structs.DefaultRestartPolicy(jobType)
	return map[string]any{
		"Attempts": json.Number(treeItoa(int64(p.Attempts))), "Interval": treeNs(p.Interval), "Delay": treeNs(p.Delay),
		"Mode": p.Mode, "RenderTemplates": false,
	}
}

func treeDefaultMigrateJSON() map[string]any {
	return map[string]any{
		"MaxParallel": json.Number("1"), "HealthCheck": structs.UpdateStrategyHealthCheckChecks,
		"MinHealthyTime": treeNs(10 * time.Second), "HealthyDeadline": treeNs(5 * time.Minute),
	}
}

// treeUpdateEmpty reports whether an update block asks for nothing (the
// official client's UpdateStrategy.Empty): a group does not inherit it.
func treeUpdateEmpty(u map[string]any) bool {
	for _, k := range []string{"Stagger", "MaxParallel", "MinHealthyTime", "HealthyDeadline", "ProgressDeadline", "Canary"} {
		if n, ok := u[k].(json.Number); ok && n.String() != "0" {
			return false
		}
	}
	if s, ok := u["HealthCheck"].(string); ok && s != "" {
		return false
	}
	for _, k := range []string{"AutoRevert", "AutoPromote"} {
		if b, ok := u[k].(bool); ok && b {
			return false
		}
	}
	return true
}

// treeCanonicalizeJobJSON applies the official client's Job.Canonicalize
// defaults for null or absent fields to a job's JSON object.
func treeCanonicalizeJobJSON(job map[string]any) {
	typ, _ := job["Type"].(string)
	if typ == "" {
		typ = structs.JobTypeService
	}
	if p := treeJsonObj(job["Periodic"]); p != nil {
		treeFillNull(p, map[string]any{"Enabled": true, "SpecType": structs.PeriodicSpecCron, "ProhibitOverlap": false, "TimeZone": "UTC"})
	}
	ju := treeJsonObj(job["Update"])
	switch {
	case ju != nil:
		treeFillNull(ju, treeDefaultUpdateJSON())
	case typ == structs.JobTypeService || typ == structs.JobTypeSystem:
		ju = treeDefaultUpdateJSON()
		job["Update"] = ju
	}
	jr, jm := treeJsonObj(job["Reschedule"]), treeJsonObj(job["Migrate"])
	groups, _ := job["TaskGroups"].([]any)
	for _, g := range groups {
		tg := treeJsonObj(g)
		if tg == nil {
			continue
		}
		treeCanonicalizeGroupJSON(tg, typ, ju, jr, jm)
	}
}

func treeCanonicalizeGroupJSON(tg map[string]any, typ string, ju, jr, jm map[string]any) {
	if tg["Count"] == nil {
		tg["Count"] = json.Number("1")
		if sc := treeJsonObj(tg["Scaling"]); sc != nil && sc["Min"] != nil {
			tg["Count"] = sc["Min"]
		}
	}
	// The scaling block's defaults (TaskGroup.ApplyJSONDefaults; before,
	// its UnmarshalJSON applied them in the final typed decode).
	if sc := treeJsonObj(tg["Scaling"]); sc != nil {
		treeFillNull(sc, map[string]any{"Min": tg["Count"], "Max": json.Number("-1"), "Enabled": true})
	}
	gu := treeJsonObj(tg["Update"])
	switch {
	case ju != nil && gu != nil:
		gu = treeMergeNonNull(ju, gu)
	case ju != nil && !treeUpdateEmpty(ju):
		gu = maps.Clone(ju)
	}
	if gu != nil {
		treeFillNull(gu, treeDefaultUpdateJSON())
		tg["Update"] = gu
	}
	system := typ == structs.JobTypeSystem || typ == structs.JobTypeSysBatch
	gr := treeJsonObj(tg["ReschedulePolicy"])
	switch {
	case jr != nil && gr != nil:
		gr = treeMergeNonNull(jr, gr)
	case jr != nil:
		gr = maps.Clone(jr)
	}
	if gr == nil && !system {
		gr = treeDefaultRescheduleJSON(typ)
	}
	if gr != nil {
		treeFillNull(gr, treeDefaultRescheduleJSON(typ))
		tg["ReschedulePolicy"] = gr
	}
	gm := treeJsonObj(tg["Migrate"])
	switch {
	case jm != nil && gm != nil:
		gm = treeMergeNonNull(jm, gm)
	case jm != nil:
		gm = maps.Clone(jm)
	}
	if gm == nil && typ == structs.JobTypeService {
		gm = map[string]any{}
	}
	if gm != nil {
		treeFillNull(gm, treeDefaultMigrateJSON())
		tg["Migrate"] = gm
	}
	tg["RestartPolicy"] = treeMergeNonNull(treeDefaultRestartJSON(typ), treeJsonObj(tg["RestartPolicy"]))
	if d := treeJsonObj(tg["EphemeralDisk"]); d != nil {
		treeFillNull(d, map[string]any{"SizeMB": json.Number("300"), "Sticky": false, "Migrate": false})
	}
	tasks, _ := tg["Tasks"].([]any)
	for _, t := range tasks {
		if task := treeJsonObj(t); task != nil && task["KillTimeout"] == nil {
			task["KillTimeout"] = treeNs(structs.DefaultKillTimeout)
		}
	}
}

// BenchmarkDecodeJobBody decodes make bench-cluster's registration body
// (1 KB, as the API client sends it).
func BenchmarkDecodeJobBody(b *testing.B) {
	body, err := json.Marshal(&structs.JobRegisterRequest{Job: &structs.Job{
		ID: "bench-1", Name: "bench-1", Type: structs.JobTypeService, Datacenters: []string{"nowhere"},
		TaskGroups: []*structs.TaskGroup{{Name: "g", Count: 1, Tasks: []*structs.Task{{Name: "sleep", Driver: "raw_exec",
			Config:    map[string]any{"command": "/bin/sleep", "args": []any{"3600"}},
			Resources: &structs.Resources{CPU: 20, MemoryMB: 16}}}}},
	}})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		var req structs.JobRegisterRequest
		if err := decodeJobBody(httptest.NewRequest(http.MethodPut, "/v1/jobs", bytes.NewReader(body)), &req); err != nil {
			b.Fatal(err)
		}
	}
}

// failingReader fails every read, as a connection dropped mid-body does.
type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("connection reset by peer") }

// TestDecodeJobBodyReadErrors: a job body that cannot be read is a 400
// naming the read (as decodeBody's), never an uncoded error the API
// answers with a 500; a missing body is a 400 asking for a JSON object.
func TestDecodeJobBodyReadErrors(t *testing.T) {
	for name, c := range map[string]struct {
		body io.Reader
		want string
	}{
		"read error": {failingReader{}, "read the request body"},
		"no body":    {nil, "send a JSON object"},
	} {
		r := httptest.NewRequest(http.MethodPut, "/v1/jobs", nil)
		r.Body = nil
		if c.body != nil {
			r.Body = io.NopCloser(c.body)
		}
		var req structs.JobRegisterRequest
		err := decodeJobBody(r, &req)
		var coded *structs.CodedError
		if !errors.As(err, &coded) || coded.Code != http.StatusBadRequest || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want a 400 containing %q", name, err, c.want)
		}
	}
}
