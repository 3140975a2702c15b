package command

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/nomadlike/nomadlike/agent"
	"github.com/nomadlike/nomadlike/nomadlike/api"
	"github.com/spf13/cobra"
)

// Main runs the CLI with args (os.Args: the program name first) and returns
// the exit code: 0 success, 1 error, 2 placement or allocation failures.
func Main(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	c := &cli{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, now: time.Now}
	if len(args) > 0 {
		args = args[1:]
	}
	return c.run(ctx, args)
}

// cli holds what every command shares: the streams, the clock and the
// global flags. Commands get their context from cobra (cmd.Context()).
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	now            func() time.Time

	address   string
	token     string
	namespace string
	region    string
	tls       api.TLSConfig
	// tlsEnvErr is a bad NOMAD_SKIP_VERIFY, reported when a command
	// connects.
	tlsEnvErr error
}

// run parses args (without the program name), runs the command and maps its
// error to an exit code, printing it on stderr.
func (c *cli) run(ctx context.Context, args []string) int {
	// `nomad -version`, `-v` and `--version`, as Nomad's tooling calls them.
	if len(args) == 1 && (args[0] == "-version" || args[0] == "--version" || args[0] == "-v") {
		args = []string{"version"}
	}
	root := c.rootCommand()
	root.SetArgs(normaliseArgs(args))
	root.SetIn(c.stdin)
	root.SetOut(c.stdout)
	root.SetErr(c.stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var ce *cliError
	if !errors.As(err, &ce) {
		// cobra's own errors: unknown command or flag, wrong argument count.
		fmt.Fprintf(c.stderr, "Error: %v\nRun 'nomadlike -help' or '<command> -help' for usage.\n", err)
		return exitError
	}
	if ce.silent {
		return ce.code
	}
	fmt.Fprintf(c.stderr, "Error %s\n", ce.Error())
	hint := ce.hint
	if hint == "" && ce.err != nil {
		hint = agentHint(ce.err, c.address)
	}
	if hint != "" {
		fmt.Fprintln(c.stderr, hint)
	}
	return ce.code
}

func (c *cli) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "nomadlike",
		Short:         "nomadlike: a single-binary workload orchestrator, compatible with Nomad job specs and API",
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.CompletionOptions.DisableDefaultCmd = true
	pf := root.PersistentFlags()
	pf.StringVar(&c.address, "address", envOr("NOMAD_ADDR", api.DefaultAddress), "address of the nomadlike agent (NOMAD_ADDR)")
	pf.StringVar(&c.token, "token", os.Getenv("NOMAD_TOKEN"), "ACL token (NOMAD_TOKEN)")
	pf.StringVar(&c.namespace, "namespace", os.Getenv("NOMAD_NAMESPACE"), "target namespace (NOMAD_NAMESPACE)")
	pf.StringVar(&c.region, "region", os.Getenv("NOMAD_REGION"), "target region (NOMAD_REGION)")
	c.tlsFlags(pf)
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return usageError(cmd.CommandPath(), "%v", err)
	})

	root.AddCommand(
		agent.NewCommand(),
		c.tlsCommand(),
		c.versionCommand(),
		c.jobCommand(),
		c.allocCommand(),
		c.nodeCommand(),
		c.evalCommand(),
		c.deploymentCommand(),
		c.serviceCommand(),
		c.serverCommand(),
		c.operatorCommand(),
		c.systemCommand(),
		c.aclCommand(),
		c.namespaceCommand(),
		c.varCommand(),
		c.monitorCommand(),
		c.eventCommand(),
		c.scalingCommand(),
		c.statusCommand(),
		c.jobActionCommand("action"),
	)
	root.AddCommand(c.completionCommand(root))
	return root
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// client returns an API client for the global flags.
func (c *cli) client() (*api.Client, error) {
	if c.tlsEnvErr != nil {
		return nil, fail("in the TLS settings", c.tlsEnvErr, "")
	}
	tc := c.tls
	cl, err := api.NewClient(api.Config{Address: c.address, Token: c.token, TLS: &tc})
	if err != nil {
		if c.tls != (api.TLSConfig{}) {
			return nil, fail("in the TLS settings", err, "Check -ca-cert/-ca-path, -client-cert and -client-key (or NOMAD_CACERT, NOMAD_CAPATH, NOMAD_CLIENT_CERT, NOMAD_CLIENT_KEY): make them with `nomadlike tls ca create` and `nomadlike tls cert create -cli`.")
		}
		return nil, fail("in -address", err, "Set -address or NOMAD_ADDR to the agent's URL, e.g. http://127.0.0.1:4646.")
	}
	return cl, nil
}

// query returns read options carrying the global namespace and region.
func (c *cli) query() *api.QueryOptions {
	return &api.QueryOptions{Namespace: c.namespace, Region: c.region}
}

// out prints a line on stdout.
func (c *cli) out(format string, args ...any) {
	fmt.Fprintf(c.stdout, format+"\n", args...)
}
