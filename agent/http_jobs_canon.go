package agent

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net/http"
	"reflect"
	"strconv"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// decodeJobBody decodes a request carrying a job ({"Job": {...}, ...}) and
// applies, on the JSON, the defaults Nomad's agent applies to it: Nomad's
// HTTP layer decodes into the official client's types, where every field
// is a pointer, and calls their Canonicalize, so a null or absent field
// (the stock CLI sends many) gets Nomad's default while an explicit zero
// stays zero. Our structs cannot tell null from zero once decoded, so the
// defaults are filled in the JSON tree before the final decode.
func decodeJobBody(r *http.Request, out any) error {
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
	if jsonDepthOverflow(body, maxJSONDepth) < 0 && decodeTree(body, &tree) == nil {
		if job, ok := tree["Job"].(map[string]any); ok {
			canonicalizeJobJSON(job)
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

// decodeTree decodes body, exactly one JSON value, into tree with numbers
// kept as json.Number.
func decodeTree(body []byte, tree *map[string]any) error {
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

// jsonObj returns v as a JSON object, nil if it is null or not an object.
func jsonObj(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// fillNull sets each key of defaults that obj lacks or holds null.
func fillNull(obj, defaults map[string]any) {
	for k, v := range defaults {
		if cur, ok := obj[k]; !ok || cur == nil {
			obj[k] = v
		}
	}
}

// mergeNonNull returns a copy of base overlaid with the non-null fields of over.
func mergeNonNull(base, over map[string]any) map[string]any {
	out := maps.Clone(base)
	for k, v := range over {
		if v != nil {
			out[k] = v
		}
	}
	return out
}

func ns(d time.Duration) json.Number { return json.Number(itoa(int64(d))) }

func itoa(i int64) string { return strconv.FormatInt(i, 10) }

// Nomad's defaults, as the official client's Canonicalize methods set them.
func defaultUpdateJSON() map[string]any {
	return map[string]any{
		"Stagger": ns(30 * time.Second), "MaxParallel": json.Number("1"), "HealthCheck": structs.UpdateStrategyHealthCheckChecks,
		"MinHealthyTime": ns(10 * time.Second), "HealthyDeadline": ns(5 * time.Minute),
		"ProgressDeadline": ns(10 * time.Minute), "AutoRevert": false, "AutoPromote": false, "Canary": json.Number("0"),
	}
}

func defaultRescheduleJSON(jobType string) map[string]any {
	p := structs.DefaultReschedulePolicy(jobType)
	return map[string]any{
		"Attempts": json.Number(itoa(int64(p.Attempts))), "Interval": ns(p.Interval), "Delay": ns(p.Delay),
		"DelayFunction": p.DelayFunction, "MaxDelay": ns(p.MaxDelay), "Unlimited": p.Unlimited,
	}
}

func defaultRestartJSON(jobType string) map[string]any {
	p := structs.DefaultRestartPolicy(jobType)
	return map[string]any{
		"Attempts": json.Number(itoa(int64(p.Attempts))), "Interval": ns(p.Interval), "Delay": ns(p.Delay),
		"Mode": p.Mode, "RenderTemplates": false,
	}
}

func defaultMigrateJSON() map[string]any {
	return map[string]any{
		"MaxParallel": json.Number("1"), "HealthCheck": structs.UpdateStrategyHealthCheckChecks,
		"MinHealthyTime": ns(10 * time.Second), "HealthyDeadline": ns(5 * time.Minute),
	}
}

// updateEmpty reports whether an update block asks for nothing (the
// official client's UpdateStrategy.Empty): a group does not inherit it.
func updateEmpty(u map[string]any) bool {
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

// canonicalizeJobJSON applies the official client's Job.Canonicalize
// defaults for null or absent fields to a job's JSON object.
func canonicalizeJobJSON(job map[string]any) {
	typ, _ := job["Type"].(string)
	if typ == "" {
		typ = structs.JobTypeService
	}
	if p := jsonObj(job["Periodic"]); p != nil {
		fillNull(p, map[string]any{"Enabled": true, "SpecType": structs.PeriodicSpecCron, "ProhibitOverlap": false, "TimeZone": "UTC"})
	}
	ju := jsonObj(job["Update"])
	switch {
	case ju != nil:
		fillNull(ju, defaultUpdateJSON())
	case typ == structs.JobTypeService || typ == structs.JobTypeSystem:
		ju = defaultUpdateJSON()
		job["Update"] = ju
	}
	jr, jm := jsonObj(job["Reschedule"]), jsonObj(job["Migrate"])
	groups, _ := job["TaskGroups"].([]any)
	for _, g := range groups {
		tg := jsonObj(g)
		if tg == nil {
			continue
		}
		canonicalizeGroupJSON(tg, typ, ju, jr, jm)
	}
}

func canonicalizeGroupJSON(tg map[string]any, typ string, ju, jr, jm map[string]any) {
	if tg["Count"] == nil {
		tg["Count"] = json.Number("1")
		if sc := jsonObj(tg["Scaling"]); sc != nil && sc["Min"] != nil {
			tg["Count"] = sc["Min"]
		}
	}
	gu := jsonObj(tg["Update"])
	switch {
	case ju != nil && gu != nil:
		gu = mergeNonNull(ju, gu)
	case ju != nil && !updateEmpty(ju):
		gu = maps.Clone(ju)
	}
	if gu != nil {
		fillNull(gu, defaultUpdateJSON())
		tg["Update"] = gu
	}
	system := typ == structs.JobTypeSystem || typ == structs.JobTypeSysBatch
	gr := jsonObj(tg["ReschedulePolicy"])
	switch {
	case jr != nil && gr != nil:
		gr = mergeNonNull(jr, gr)
	case jr != nil:
		gr = maps.Clone(jr)
	}
	if gr == nil && !system {
		gr = defaultRescheduleJSON(typ)
	}
	if gr != nil {
		fillNull(gr, defaultRescheduleJSON(typ))
		tg["ReschedulePolicy"] = gr
	}
	gm := jsonObj(tg["Migrate"])
	switch {
	case jm != nil && gm != nil:
		gm = mergeNonNull(jm, gm)
	case jm != nil:
		gm = maps.Clone(jm)
	}
	if gm == nil && typ == structs.JobTypeService {
		gm = map[string]any{}
	}
	if gm != nil {
		fillNull(gm, defaultMigrateJSON())
		tg["Migrate"] = gm
	}
	tg["RestartPolicy"] = mergeNonNull(defaultRestartJSON(typ), jsonObj(tg["RestartPolicy"]))
	if d := jsonObj(tg["EphemeralDisk"]); d != nil {
		fillNull(d, map[string]any{"SizeMB": json.Number("300"), "Sticky": false, "Migrate": false})
	}
	tasks, _ := tg["Tasks"].([]any)
	for _, t := range tasks {
		if task := jsonObj(t); task != nil && task["KillTimeout"] == nil {
			task["KillTimeout"] = ns(structs.DefaultKillTimeout)
		}
	}
}
