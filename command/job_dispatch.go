package command

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

func (c *cli) jobDispatchCommand() *cobra.Command {
	var meta []string
	var token, idPrefix string
	var priority int
	var detach, verbose bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "dispatch [-meta k=v]... [-idempotency-token t] [-id-prefix-template t] [-priority n] [-detach] [-verbose] <parameterized job> [<input file>|-]",
		Short: "Dispatch an instance of a parameterized job, with a payload and meta",
		Long: `Creates an instance of a parameterized job. The payload is read from the
input file, or from stdin with "-" (at most 16 KiB); -meta sets meta keys the
job's meta_required/meta_optional allow. With -idempotency-token, a dispatch
that finds a live instance with the same token returns it instead.
-id-prefix-template puts a prefix into the dispatched job's ID
("<job>/dispatch-<prefix>-<time>-<id>"); -priority overrides the job's
priority (1 to 100) for this instance.`,
		Args: argsBetween(1, 2, "a parameterized job ID and optionally an input file (or - for stdin)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			m := map[string]string{}
			for _, kv := range meta {
				k, v, ok := strings.Cut(kv, "=")
				if !ok || k == "" {
					return usageError(cmd.CommandPath(), "-meta %q is not of the form key=value", kv)
				}
				m[k] = v
			}
			var payload []byte
			if len(args) == 2 {
				var err error
				if payload, err = c.readPayload(args[1]); err != nil {
					return err
				}
			}
			cl, err := c.client()
			if err != nil {
				return err
			}
			if priority != 0 && (priority < 1 || priority > 100) {
				return usageError(cmd.CommandPath(), "-priority %d is out of range: use 1 to 100", priority)
			}
			req := &structs.JobDispatchRequest{JobID: args[0], Payload: payload, Meta: m, IdempotencyToken: token,
				IdPrefixTemplate: idPrefix, Priority: priority}
			resp, err := cl.DispatchJob(ctx, req, c.query())
			if err != nil {
				return fail(fmt.Sprintf("dispatching job %q", args[0]), err, "")
			}
			pairs := []kv{{"Dispatched Job ID", resp.DispatchedJobID}}
			if resp.EvalID != "" {
				pairs = append(pairs, kv{"Evaluation ID", shortID(resp.EvalID, verbose || detach)})
			}
			writeKV(c.stdout, pairs)
			if resp.EvalID == "" {
				c.out("\nJob %q was already dispatched with idempotency token %q", resp.DispatchedJobID, token)
				return nil
			}
			if detach {
				return nil
			}
			c.out("")
			return c.monitorEval(ctx, cl, resp.DispatchedJobID, resp.EvalID, verbose, timeout)
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&meta, "meta", nil, "set a meta key of the dispatched job, as key=value (repeatable)")
	fl.StringVar(&token, "idempotency-token", "", "dispatch only if no live instance was dispatched with this token")
	fl.StringVar(&idPrefix, "id-prefix-template", "", "a prefix for the dispatched job's ID: <job>/dispatch-<prefix>-<time>-<id>")
	fl.IntVar(&priority, "priority", 0, "the dispatched job's priority, 1 to 100 (default: the parameterized job's)")
	evalMonitorFlags(cmd, &detach, &verbose, &timeout, "print the dispatched job and evaluation IDs and return without monitoring")
	return cmd
}

// readPayload reads a dispatch payload from file, or stdin for "-".
func (c *cli) readPayload(file string) ([]byte, error) {
	var (
		b   []byte
		err error
	)
	name := file
	if file == "-" {
		name = "<stdin>"
		b, err = io.ReadAll(io.LimitReader(c.stdin, structs.DispatchPayloadSizeLimit+1))
	} else {
		b, err = os.ReadFile(file)
	}
	if err != nil {
		return nil, fail(fmt.Sprintf("reading the payload from %s", name), err, "Check the path, or pass - to read the payload from stdin.")
	}
	if len(b) > structs.DispatchPayloadSizeLimit {
		return nil, fail(fmt.Sprintf("reading the payload from %s", name),
			fmt.Errorf("the payload is larger than the %d byte limit", structs.DispatchPayloadSizeLimit),
			"Pass a smaller payload, or fetch large inputs in the task with an artifact block.")
	}
	return b, nil
}
