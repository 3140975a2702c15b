package command

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
	"github.com/spf13/cobra"
)

func (c *cli) eventCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "event <subcommand>",
		Short: "Follow the cluster's event stream",
	}
	cmd.AddCommand(c.eventStreamCommand())
	return cmd
}

// eventStreamFlags are the options of `event stream`.
type eventStreamFlags struct {
	topics  []string
	index   uint64
	asJSON  bool
	verbose bool
}

func (c *cli) eventStreamCommand() *cobra.Command {
	var f eventStreamFlags
	cmd := &cobra.Command{
		Use:   "stream [-topic Topic[:key]]... [-index n] [-json]",
		Short: "Print the cluster's events (GET /v1/event/stream) as they happen",
		Long: `Prints every change the servers commit, one line per event, until interrupted
(Ctrl-C). -topic selects a topic and optionally a key (the object's ID, or
for allocations also their job ID and deployment ID): -topic Job:web
-topic Allocation:web. Topics: ` + topicList() + `, * for all
(the default). Events of jobs, allocations and the like are those of the
-namespace (default "default"; -namespace '*' for all). -index replays the events the server still buffers from that
Raft index on. -json prints each event as one JSON object per line (its
payload included), for jq and for keeping.`,
		Args: argsBetween(0, 0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.eventStream(cmd.Context(), &f)
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&f.topics, "topic", nil, "Topic or Topic:key to follow (repeatable; default every topic)")
	fl.Uint64Var(&f.index, "index", 0, "replay buffered events from this Raft index")
	fl.BoolVar(&f.asJSON, "json", false, "print each event as a JSON object on its own line")
	fl.BoolVar(&f.verbose, "verbose", false, "show full IDs")
	return cmd
}

func topicList() string {
	names := make([]string, len(structs.EventTopics))
	for i, t := range structs.EventTopics {
		names[i] = string(t)
	}
	return strings.Join(names, ", ")
}

// parseTopics turns -topic values into the stream's topic filter.
func parseTopics(values []string) (map[structs.Topic][]string, error) {
	if len(values) == 0 {
		return nil, nil
	}
	out := map[structs.Topic][]string{}
	for _, v := range values {
		name, key, ok := strings.Cut(v, ":")
		if !ok || key == "" {
			key = "*"
		}
		t := structs.Topic(name)
		if t != structs.TopicAll && !slices.Contains(structs.EventTopics, t) {
			return nil, fmt.Errorf("-topic %q: unknown topic %q; topics are %s and *", v, name, topicList())
		}
		out[t] = append(out[t], key)
	}
	return out, nil
}

func (c *cli) eventStream(ctx context.Context, f *eventStreamFlags) error {
	topics, err := parseTopics(f.topics)
	if err != nil {
		return usageError("nomadlike event stream", "%v", err)
	}
	cl, err := c.client()
	if err != nil {
		return err
	}
	enc := json.NewEncoder(c.stdout)
	err = cl.EventStream(ctx, topics, f.index, c.query(), func(frame *structs.Events) error {
		for i := range frame.Events {
			e := &frame.Events[i]
			if f.asJSON {
				if err := enc.Encode(e); err != nil {
					return err
				}
				continue
			}
			c.out("%s", formatEvent(e, f.verbose))
		}
		return nil
	})
	if err != nil && ctx.Err() == nil {
		return fail("following the event stream", err, "The agent must be a server or reach one; with ACLs the token needs read access to the namespaces of the topics.")
	}
	return nil
}

// formatEvent is one line saying what an event changed.
func formatEvent(e *structs.Event, verbose bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-8d %-10s %-30s %s", e.Index, e.Topic, e.Type, shortKey(e.Key, verbose))
	if e.Namespace != "" && e.Namespace != structs.DefaultNamespace {
		fmt.Fprintf(&b, " namespace=%s", e.Namespace)
	}
	p := e.Payload
	if p == nil {
		return b.String()
	}
	kv := func(k, v string) {
		if v != "" {
			fmt.Fprintf(&b, " %s=%s", k, v)
		}
	}
	switch {
	case p.Job != nil:
		kv("type", p.Job.Type)
		kv("status", p.Job.Status)
		kv("version", fmt.Sprint(p.Job.Version))
	case p.Allocation != nil:
		a := p.Allocation
		kv("job", a.JobID)
		kv("group", a.TaskGroup)
		kv("node", shortID(a.NodeID, verbose))
		kv("desired", a.DesiredStatus)
		kv("client", a.ClientStatus)
	case p.Evaluation != nil:
		ev := p.Evaluation
		kv("job", ev.JobID)
		kv("triggered_by", ev.TriggeredBy)
		kv("status", ev.Status)
	case p.Deployment != nil:
		kv("job", p.Deployment.JobID)
		kv("status", p.Deployment.Status)
	case p.Node != nil:
		kv("name", p.Node.Name)
		kv("status", p.Node.Status)
		kv("eligibility", p.Node.SchedulingEligibility)
		if n := len(p.Node.Events); n > 0 && e.Type == structs.TypeNodeEvent {
			kv("event", fmt.Sprintf("%q", p.Node.Events[n-1].Message))
		}
	case p.Service != nil:
		kv("service", p.Service.ServiceName)
		kv("alloc", shortID(p.Service.AllocID, verbose))
		kv("address", fmt.Sprintf("%s:%d", p.Service.Address, p.Service.Port))
	}
	return b.String()
}

// shortKey shortens an event key that is a UUID (allocations, evaluations,
// nodes, deployments) as shortID does; job and service names stay whole.
func shortKey(key string, verbose bool) string {
	if isFullUUID(key) {
		return shortID(key, verbose)
	}
	return key
}
