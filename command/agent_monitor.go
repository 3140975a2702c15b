package command

import (
	"context"
	"io"
	"net/http"
	"strconv"

	"github.com/nomadlike/nomadlike/nomadlike/api"
	"github.com/spf13/cobra"
)

// monitorCommand is `nomadlike monitor`: as Nomad's, it prints the log
// lines of the agent at -address as they are logged, at -log-level (which
// may be below the agent's own), until interrupted.
func (c *cli) monitorCommand() *cobra.Command {
	var level, nodeID, serverID string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "monitor [-log-level level] [-json] [-node-id id | -server-id name]",
		Short: "Stream the log of the agent at -address (or of another node or server)",
		Long: "Stream the log lines of the agent at -address as they are logged, until interrupted.\n" +
			"-log-level may be more verbose than the agent's own log_level. Lines a slow\n" +
			"terminal cannot keep up with are dropped and counted (\"[N lines dropped]\").\n" +
			"-node-id streams the log of that node's client agent and -server-id (a name\n" +
			"'server members' lists, or \"leader\") that server's, through the agent at -address.",
		Args: argsBetween(0, 0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if nodeID != "" && serverID != "" {
				return usageError(cmd.CommandPath(), "-node-id and -server-id name two agents; give one")
			}
			return c.monitorAgent(cmd.Context(), level, asJSON, map[string]string{"node_id": nodeID, "server_id": serverID})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&level, "log-level", "info", "the least severe level to stream: trace, debug, info, warn or error")
	fl.BoolVar(&asJSON, "json", false, "stream log lines as JSON objects")
	fl.StringVar(&nodeID, "node-id", "", "stream the log of this node's client agent instead")
	fl.StringVar(&serverID, "server-id", "", "stream the log of this server instead (its name, or \"leader\")")
	return cmd
}

func (c *cli) monitorAgent(ctx context.Context, level string, asJSON bool, target map[string]string) error {
	cl, err := c.client()
	if err != nil {
		return err
	}
	q := &api.QueryOptions{Params: map[string]string{"log_level": level, "log_json": strconv.FormatBool(asJSON), "plain": "true"}}
	for k, v := range target {
		if v != "" {
			q.Params[k] = v
		}
	}
	resp, err := cl.Do(ctx, http.MethodGet, "/v1/agent/monitor", q, nil)
	if err != nil {
		return fail("streaming the agent's log", err, "")
	}
	defer resp.Body.Close()
	if _, err := io.Copy(c.stdout, resp.Body); err != nil && ctx.Err() == nil {
		return fail("streaming the agent's log", err, "The agent may have stopped.")
	}
	return nil
}
