package command

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

func (c *cli) evalListCommand() *cobra.Command {
	var verbose, asJSON bool
	var job, status, filter, pageToken string
	var perPage int
	cmd := &cobra.Command{
		Use:   "list [-job id] [-status s] [-filter expr] [-per-page n] [-page-token t] [-verbose] [-json]",
		Short: "List evaluations",
		Long: `Lists the evaluations of the namespace (-namespace '*' for all), oldest
first, with Nomad's columns. -job and -status narrow the list; -filter takes
an expression in Nomad's filter syntax (e.g. 'TriggeredBy == "node-update"').
With -per-page the list comes in pages: the command prints the -page-token
of the next one.`,
		Args: argsBetween(0, 0, "no arguments, only flags"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if perPage < 0 {
				return usageError(cmd.CommandPath(), "-per-page=%d must be 0 (no paging) or more", perPage)
			}
			cl, err := c.client()
			if err != nil {
				return err
			}
			q := c.query()
			q.Filter, q.PerPage, q.NextToken = filter, perPage, pageToken
			q.Params = map[string]string{}
			if job != "" {
				q.Params["job"] = job
			}
			if status != "" {
				q.Params["status"] = status
			}
			evals, meta, err := cl.ListEvaluations(cmd.Context(), q)
			if err != nil {
				return fail("listing evaluations", err, "")
			}
			if asJSON {
				if evals == nil {
					evals = []*structs.Evaluation{}
				}
				return writeJSON(c.stdout, evals)
			}
			if len(evals) == 0 {
				c.out("No evals found")
				return nil
			}
			rows := make([][]string, len(evals))
			for i, e := range evals {
				node := "<none>"
				if e.NodeID != "" {
					node = shortID(e.NodeID, verbose)
				}
				rows[i] = []string{shortID(e.ID, verbose), strconv.Itoa(e.Priority), e.TriggeredBy, e.JobID, e.Namespace,
					node, e.Status, strconv.FormatBool(len(e.FailedTGAllocs) > 0)}
			}
			writeTable(c.stdout, []string{"ID", "Priority", "Triggered By", "Job ID", "Namespace", "Node ID", "Status", "Placement Failures"}, rows)
			if meta != nil && meta.NextToken != "" {
				c.out("\nResults have been paginated. To get the next page run:\n\n%s -page-token %s", cmd.CommandPath(), meta.NextToken)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&verbose, "verbose", false, "show full IDs")
	f.BoolVar(&asJSON, "json", false, "print the evaluations as JSON")
	f.StringVar(&job, "job", "", "only evaluations of this job ID")
	f.StringVar(&status, "status", "", "only evaluations with this status (blocked, pending, complete, failed, canceled)")
	f.StringVar(&filter, "filter", "", "a filter expression (Nomad's syntax)")
	f.IntVar(&perPage, "per-page", 0, "how many evaluations per page (0: all)")
	f.StringVar(&pageToken, "page-token", "", "where to start: the token the previous page printed")
	return cmd
}

func (c *cli) evalDeleteCommand() *cobra.Command {
	var filter string
	var yes bool
	cmd := &cobra.Command{
		Use:   "delete [-filter expr] [-yes] [<eval-id>]",
		Short: "Delete evaluations (only while the eval broker is paused)",
		Long: `Deletes one evaluation by ID, or every evaluation a -filter expression
selects (after asking, unless -yes). For outages with a backlog of
evaluations: first pause the eval broker with 'nomadlike operator scheduler
set-config -pause-eval-broker=true', and resume it afterwards with
-pause-eval-broker=false. Evaluations whose job still runs allocations they
placed are not deleted.`,
		Args: argsBetween(0, 1, "an evaluation ID, or -filter"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if (len(args) == 1) == (filter != "") {
				return usageError(cmd.CommandPath(), "give either an evaluation ID or -filter, not both and not neither")
			}
			ctx := cmd.Context()
			cl, err := c.client()
			if err != nil {
				return err
			}
			var ids []string
			if len(args) == 1 {
				ev, err := c.resolveEval(ctx, cl, args[0])
				if err != nil {
					return err
				}
				ids = []string{ev.ID}
			} else if !yes {
				q := c.query()
				q.Filter = filter
				n, err := cl.CountEvaluations(ctx, q)
				if err != nil {
					return fail("counting the evaluations the filter selects", err, "")
				}
				if n == 0 {
					c.out("No evaluations match the filter")
					return nil
				}
				ok, err := c.confirm(fmt.Sprintf("Are you sure you want to delete %d evals? [y/N] ", n))
				if err != nil {
					return err
				}
				if !ok {
					c.out("Cancelling eval deletion")
					return nil
				}
			}
			resp, err := cl.DeleteEvaluations(ctx, ids, filter, c.query())
			if err != nil {
				return fail("deleting evaluations", err,
					hintOn(err, "Pause the broker with 'nomadlike operator scheduler set-config -pause-eval-broker=true' first, and resume it afterwards with -pause-eval-broker=false.", http.StatusBadRequest))
			}
			noun := "evaluations"
			if resp.Count == 1 {
				noun = "evaluation"
			}
			c.out("Successfully deleted %d %s", resp.Count, noun)
			return nil
		},
	}
	cmd.Flags().StringVar(&filter, "filter", "", "delete the evaluations this expression selects (Nomad's filter syntax)")
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	return cmd
}
