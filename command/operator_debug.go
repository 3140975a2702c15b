package command

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nomadlike/nomadlike/agent"
	"github.com/nomadlike/nomadlike/nomadlike/api"
	"github.com/spf13/cobra"
)

// operatorDebugFlags are the options of `operator debug`.
type operatorDebugFlags struct {
	duration      time.Duration
	pprofDuration time.Duration
	logLevel      string
	output        string
}

func (c *cli) operatorDebugCommand() *cobra.Command {
	var f operatorDebugFlags
	cmd := &cobra.Command{
		Use:   "debug [-duration d] [-pprof-duration d] [-log-level l] [-output path]",
		Short: "Write a support bundle (tar.gz): agent, cluster state, profiles and logs",
		Long: `Collects, from the agent at -address, what a bug report needs and writes it
as one tar.gz: the agent's configuration (agent/self, secrets redacted by the
agent), the members, the Raft configuration, the metrics, the nodes, jobs,
allocations, evaluations and deployments (summaries), the Go profiles (CPU
profile and trace over -pprof-duration, goroutines, heap, allocs, mutex,
block, threadcreate) and the agent's log lines for -duration (at -log-level).
A part the agent refuses (the profiles need enable_debug = true in the agent
config, or ACLs and a token with agent:write) is listed in errors.txt of the
bundle instead of failing the command. -output is the archive's path, or a
directory to write nomadlike-debug-<time>.tar.gz in (default: the current
directory). Review the bundle before sharing it: logs may hold job details.`,
		Args: argsBetween(0, 0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.duration <= 0 {
				return usageError("nomadlike operator debug", "-duration must be positive, got %s", f.duration)
			}
			if f.pprofDuration <= 0 || f.pprofDuration > f.duration {
				return usageError("nomadlike operator debug", "-pprof-duration must be positive and at most -duration (%s), got %s", f.duration, f.pprofDuration)
			}
			return c.operatorDebug(cmd.Context(), &f)
		},
	}
	fl := cmd.Flags()
	fl.DurationVar(&f.duration, "duration", 30*time.Second, "how long to record the agent's log")
	fl.DurationVar(&f.pprofDuration, "pprof-duration", 2*time.Second, "how long the CPU profile and the trace run")
	fl.StringVar(&f.logLevel, "log-level", "debug", "the least severe log level recorded: trace, debug, info, warn or error")
	fl.StringVar(&f.output, "output", "", "archive path, or a directory for nomadlike-debug-<time>.tar.gz (default: current directory)")
	return cmd
}

// debugItem is one file of the bundle fetched from the API.
type debugItem struct {
	name, path string
	params     map[string]string
}

// debugItems are the state and profile files of the bundle.
func debugItems(pprofSeconds int) []debugItem {
	secs := strconv.Itoa(pprofSeconds)
	all := map[string]string{"namespace": "*"}
	return []debugItem{
		{"agent-self.json", "/v1/agent/self", nil},
		{"agent-members.json", "/v1/agent/members", nil},
		{"agent-health.json", "/v1/agent/health", nil},
		{"status-leader.json", "/v1/status/leader", nil},
		{"raft-configuration.json", "/v1/operator/raft/configuration", nil},
		{"autopilot-health.json", "/v1/operator/autopilot/health", nil},
		{"scheduler-configuration.json", "/v1/operator/scheduler/configuration", nil},
		{"metrics.json", "/v1/metrics", nil},
		{"metrics.prom", "/v1/metrics", map[string]string{"format": "prometheus"}},
		{"nodes.json", "/v1/nodes", nil},
		{"jobs.json", "/v1/jobs", all},
		{"allocations.json", "/v1/allocations", all},
		{"evaluations.json", "/v1/evaluations", all},
		{"deployments.json", "/v1/deployments", all},
		{"pprof/profile.prof", "/v1/agent/pprof/profile", map[string]string{"seconds": secs}},
		{"pprof/trace.out", "/v1/agent/pprof/trace", map[string]string{"seconds": secs}},
		{"pprof/goroutine.prof", "/v1/agent/pprof/goroutine", nil},
		{"pprof/goroutine-debug2.txt", "/v1/agent/pprof/goroutine", map[string]string{"debug": "2"}},
		{"pprof/heap.prof", "/v1/agent/pprof/heap", nil},
		{"pprof/allocs.prof", "/v1/agent/pprof/allocs", nil},
		{"pprof/mutex.prof", "/v1/agent/pprof/mutex", nil},
		{"pprof/block.prof", "/v1/agent/pprof/block", nil},
		{"pprof/threadcreate.prof", "/v1/agent/pprof/threadcreate", nil},
	}
}

// debugBundle collects the files of a bundle from several goroutines.
type debugBundle struct {
	mu     sync.Mutex
	files  map[string][]byte
	errors []string
}

func (b *debugBundle) add(name string, data []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.files[name] = data
}

func (b *debugBundle) fail(name string, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.errors = append(b.errors, fmt.Sprintf("%s: %v", name, err))
}

func (c *cli) operatorDebug(ctx context.Context, f *operatorDebugFlags) error {
	cl, err := c.client()
	if err != nil {
		return err
	}
	// The agent must answer before anything is recorded.
	if _, err := debugFetch(ctx, cl, "/v1/agent/self", nil); err != nil {
		return fail("reading the agent's configuration (/v1/agent/self)", err, "")
	}
	out, err := debugOutputPath(f.output, c.now())
	if err != nil {
		return err
	}
	b := &debugBundle{files: map[string][]byte{}}
	started := c.now()
	c.out("==> Recording the agent's log for %s and collecting state and profiles into %s", f.duration, out)

	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		c.debugMonitor(ctx, cl, b, f)
	}()
	go func() {
		defer wg.Done()
		pprofRefused := false
		for _, it := range debugItems(max(1, int(f.pprofDuration.Round(time.Second)/time.Second))) {
			profile := strings.HasPrefix(it.name, "pprof/")
			if profile && pprofRefused {
				continue
			}
			data, err := debugFetch(ctx, cl, it.path, it.params)
			var apiErr *api.Error
			switch {
			case profile && errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusForbidden:
				// One refusal says it for every profile.
				pprofRefused = true
				b.fail("pprof/ (all profiles)", err)
			case err != nil:
				b.fail(it.name, err)
			default:
				b.add(it.name, data)
			}
		}
	}()
	wg.Wait()
	if ctx.Err() != nil {
		c.out("==> Interrupted: writing what was collected")
	}
	b.add("index.txt", []byte(fmt.Sprintf("nomadlike operator debug\naddress: %s\nstarted: %s\nduration: %s\nlog level: %s\nversion: %s\n",
		c.address, started.UTC().Format(time.RFC3339), f.duration, f.logLevel, agent.Version)))
	if len(b.errors) > 0 {
		sort.Strings(b.errors)
		b.add("errors.txt", []byte(strings.Join(b.errors, "\n")+"\n"))
	}
	if err := writeDebugArchive(out, b.files); err != nil {
		return fail("writing the debug bundle "+out, err, "Check that the -output directory exists and is writable.")
	}
	c.out("==> Wrote %s (%d files)", out, len(b.files))
	for _, e := range b.errors {
		c.out("    Not collected: %s", e)
	}
	return nil
}

// debugMonitor records the agent's log for the duration into agent.log.
func (c *cli) debugMonitor(ctx context.Context, cl *api.Client, b *debugBundle, f *operatorDebugFlags) {
	ctx, cancel := context.WithTimeout(ctx, f.duration)
	defer cancel()
	q := &api.QueryOptions{Params: map[string]string{"log_level": f.logLevel, "plain": "true"}}
	resp, err := cl.Do(ctx, http.MethodGet, "/v1/agent/monitor", q, nil)
	if err != nil {
		if ctx.Err() == nil {
			b.fail("agent.log", err)
		}
		return
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil && ctx.Err() == nil {
		b.fail("agent.log", err)
	}
	b.add("agent.log", data)
}

// debugFetch GETs path with params and returns the body.
func debugFetch(ctx context.Context, cl *api.Client, path string, params map[string]string) ([]byte, error) {
	resp, err := cl.Do(ctx, http.MethodGet, path, &api.QueryOptions{Params: params}, nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}

// debugOutputPath is the archive path -output names.
func debugOutputPath(output string, now time.Time) (string, error) {
	name := "nomadlike-debug-" + now.UTC().Format("2006-01-02-150405Z") + ".tar.gz"
	if output == "" {
		return name, nil
	}
	if strings.HasSuffix(output, ".tar.gz") || strings.HasSuffix(output, ".tgz") {
		return output, nil
	}
	st, err := os.Stat(output)
	if err != nil || !st.IsDir() {
		return "", usageError("nomadlike operator debug", "-output %q is neither an existing directory nor a path ending in .tar.gz", output)
	}
	return filepath.Join(output, name), nil
}

// writeDebugArchive writes files as a tar.gz under a top directory named
// after the archive.
func writeDebugArchive(path string, files map[string][]byte) (err error) {
	top := strings.TrimSuffix(strings.TrimSuffix(filepath.Base(path), ".tgz"), ".tar.gz")
	fh, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := fh.Close(); err == nil {
			err = cerr
		}
	}()
	gz := gzip.NewWriter(fh)
	tw := tar.NewWriter(gz)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	now := time.Now()
	for _, n := range names {
		data := files[n]
		if err := tw.WriteHeader(&tar.Header{Name: top + "/" + n, Mode: 0o600, Size: int64(len(data)), ModTime: now, Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		if _, err := tw.Write(data); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}
