package command

import (
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

func (c *cli) jobScalingEventsCommand() *cobra.Command {
	var verbose bool
	cmd := &cobra.Command{
		Use:   "scaling-events [-verbose] <job>",
		Short: "Show the recent scaling events of a job",
		Long: `Lists the scaling events the servers keep for each group of the job (the
last 20 per group), newest first: every 'job scale', and every decision or
error an autoscaler reported. -verbose adds whether the event is an error,
its message and the evaluation it made.`,
		Args: argsBetween(1, 1, "one job ID (or prefix)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			cl, job, err := c.connectJob(ctx, args[0])
			if err != nil {
				return err
			}
			st, _, err := cl.JobScaleStatus(ctx, job.ID, c.query())
			if err != nil {
				return fail(fmt.Sprintf("reading the scaling events of job %q", job.ID), err, "")
			}
			rows := scalingEventRows(st, verbose, c.now().Location())
			if len(rows) == 0 {
				c.out("No events found")
				return nil
			}
			header := []string{"Task Group", "Count", "PrevCount"}
			if verbose {
				header = append(header, "Error", "Message", "Eval ID")
			}
			writeTable(c.stdout, append(header, "Date"), rows)
			return nil
		},
	}
	cmd.Flags().BoolVar(&verbose, "verbose", false, "show whether each event is an error, its message and full evaluation ID")
	return cmd
}

// scalingEventRows renders every group's events, newest first (by time, then
// group name), as Nomad's job scaling-events does.
func scalingEventRows(st *structs.JobScaleStatusResponse, verbose bool, loc *time.Location) [][]string {
	type row struct {
		group string
		e     *structs.ScalingEvent
	}
	var all []row
	for g, s := range st.TaskGroups {
		for _, e := range s.Events {
			all = append(all, row{g, e})
		}
	}
	sort.SliceStable(all, func(i, j int) bool {
		if all[i].e.Time != all[j].e.Time {
			return all[i].e.Time > all[j].e.Time
		}
		return all[i].group < all[j].group
	})
	out := make([][]string, 0, len(all))
	for _, r := range all {
		count := "" // an error report changes no count (Nomad prints nothing)
		if r.e.Count != nil {
			count = strconv.FormatInt(*r.e.Count, 10)
		}
		line := []string{r.group, count, strconv.FormatInt(r.e.PreviousCount, 10)}
		if verbose {
			eval := ""
			if r.e.EvalID != nil {
				eval = *r.e.EvalID
			}
			line = append(line, strconv.FormatBool(r.e.Error), r.e.Message, eval)
		}
		out = append(out, append(line, formatUnixNano(int64(r.e.Time), loc)))
	}
	return out
}
