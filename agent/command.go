package agent

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"
)

// shutdownTimeout bounds a graceful shutdown after SIGINT/SIGTERM.
const shutdownTimeout = 30 * time.Second

// flags are the agent command's flags; set ones override the config files.
type flags struct {
	dev             bool
	configs         []string
	dataDir         string
	bind            string
	httpPort        int
	server          bool
	client          bool
	bootstrapExpect int
	servers         string
	node            string
	dc              string
	region          string
	logLevel        string
}

// NewCommand returns the `agent` subcommand: it parses -dev, -config (file or
// dir, repeatable) and the flags that override the config, then runs the
// agent until SIGINT/SIGTERM.
func NewCommand() *cobra.Command {
	var f flags
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Run a nomadlike agent (server, client, or both with -dev)",
		Long: `Run a nomadlike agent: a server (Raft, scheduler, HTTP API), a client
(runs tasks), or both. -dev starts both in one process with in-memory state
and the raw_exec driver enabled, for trying things out.`,
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: false,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := f.config(cmd)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return Run(ctx, cfg, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&f.dev, "dev", false, "development mode: server and client, in-memory state, raw_exec enabled")
	fl.StringArrayVar(&f.configs, "config", nil, "config file or directory (repeatable; later ones override)")
	fl.StringVar(&f.dataDir, "data-dir", "", "directory for the agent's state")
	fl.StringVar(&f.bind, "bind", "", "address every listener binds")
	fl.IntVar(&f.httpPort, "http-port", 0, "HTTP API port (0 in a config means pick a free one)")
	fl.BoolVar(&f.server, "server", false, "run a server")
	fl.BoolVar(&f.client, "client", false, "run a client")
	fl.IntVar(&f.bootstrapExpect, "bootstrap-expect", 0, "number of servers to wait for before electing a leader")
	fl.StringVar(&f.servers, "servers", "", "comma-separated HTTP addresses of servers, for a client")
	fl.StringVar(&f.node, "node", "", "node name (default: the hostname)")
	fl.StringVar(&f.dc, "dc", "", "datacenter")
	fl.StringVar(&f.region, "region", "", "region")
	fl.StringVar(&f.logLevel, "log-level", "", "log level: trace, debug, info, warn or error")
	return cmd
}

// config merges defaults (or dev defaults), config files and set flags.
func (f *flags) config(cmd *cobra.Command) (*Config, error) {
	cfg := DefaultConfig()
	if f.dev {
		cfg = DevConfig()
	}
	if err := LoadConfig(cfg, f.configs...); err != nil {
		return nil, err
	}
	if f.dev {
		// As Nomad: -dev always runs a client, whatever a config file says.
		cfg.Client.Enabled = true
	}
	changed := cmd.Flags().Changed
	if changed("data-dir") {
		cfg.DataDir = f.dataDir
	}
	if changed("bind") {
		cfg.BindAddr = f.bind
	}
	if changed("http-port") {
		cfg.Ports.HTTP = f.httpPort
	}
	if changed("server") {
		cfg.Server.Enabled = f.server
	}
	if changed("client") {
		cfg.Client.Enabled = f.client
	}
	if changed("bootstrap-expect") {
		cfg.Server.BootstrapExpect = f.bootstrapExpect
	}
	if changed("servers") {
		cfg.Client.Servers = nil
		for _, s := range strings.Split(f.servers, ",") {
			if s = strings.TrimSpace(s); s != "" {
				cfg.Client.Servers = append(cfg.Client.Servers, s)
			}
		}
	}
	if changed("node") {
		cfg.Name = f.node
	}
	if changed("dc") {
		cfg.Datacenter = f.dc
	}
	if changed("region") {
		cfg.Region = f.region
	}
	if changed("log-level") {
		cfg.LogLevel = f.logLevel
	}
	if cfg.Server.Enabled && cfg.Server.BootstrapExpect == 0 {
		cfg.Server.BootstrapExpect = 1
	}
	return cfg, nil
}

// Run starts an agent from cfg, prints the banner to out and logs to logOut,
// and runs until ctx ends; then it shuts the agent down gracefully.
//
// The log lines of the startup are held back until the banner is printed,
// so that the banner comes first, as Nomad's does; a failed start releases
// them before returning the error.
func Run(ctx context.Context, cfg *Config, out, logOut io.Writer) error {
	gate := &gatedWriter{w: logOut}
	logger := NewLogger(gate, cfg.LogLevel)
	fmt.Fprint(out, "==> Starting nomadlike agent...\n")
	a, err := New(cfg, logger)
	if err != nil {
		gate.open()
		return err
	}
	if cfg.Server.Enabled {
		defer startServerGC(cfg, logger).stop()
	}
	if err := a.Start(ctx); err != nil {
		gate.open()
		return err
	}
	fmt.Fprint(out, a.Banner())
	fmt.Fprint(out, StartedMessage)
	gate.open()
	// SIGHUP reloads what can change without a restart: the TLS files.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-hup:
			logger.Info("caught SIGHUP, reloading")
			if err := a.Reload(); err != nil {
				logger.Error("reload failed", "error", err)
			}
		}
	}
	if cfg.DevMode {
		logger.Info("caught signal, shutting down: a -dev agent stops its tasks (an agent without -dev leaves them running and re-attaches when restarted)")
	} else {
		logger.Info("caught signal, shutting down gracefully (tasks keep running; the restarted agent re-attaches to them)")
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := a.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// NewLogger returns a text logger at level (trace counts as debug).
func NewLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	switch strings.ToLower(level) {
	case "trace", "debug":
		l = slog.LevelDebug
	case "warn":
		l = slog.LevelWarn
	case "error":
		l = slog.LevelError
	default:
		l = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}

// gatedWriter holds what is written until open, then writes it and
// everything after straight through. Safe for concurrent use.
type gatedWriter struct {
	mu     sync.Mutex
	w      io.Writer
	opened bool
	held   bytes.Buffer
}

func (g *gatedWriter) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.opened {
		return g.held.Write(p)
	}
	return g.w.Write(p)
}

// open writes what was held and lets later writes through.
func (g *gatedWriter) open() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.opened {
		return
	}
	g.opened = true
	_, _ = g.w.Write(g.held.Bytes())
	g.held = bytes.Buffer{}
}
