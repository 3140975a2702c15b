package network

import (
	"context"
	"os"
	"slices"
	"strings"

	"github.com/containernetworking/cni/pkg/invoke"
	"github.com/containernetworking/cni/pkg/version"
)

// pluginTunables is the glibc malloc tuning of the plugins' environment
// (and so of the nft and iptables commands they run), unless the client's
// environment sets GLIBC_TUNABLES itself: allocations up to 32 MiB come
// from the heap, which is not trimmed below 64 MiB, instead of each block
// of 128 KiB or more being mapped and unmapped on its own. nft allocates
// and frees about 25 such blocks per run; where unmapping is dear (a VM
// whose TLB shootdowns trap: ~0.4 ms per munmap here) that was half of its
// CPU time. The commands live for milliseconds, so the heap they keep is
// returned when they exit. Measured per bridge allocation on the 2-core
// VM: portmap's ADD (with its three nft runs) 105 -> 65 ms of CPU, its DEL
// 280 -> 190 ms.
const pluginTunables = "GLIBC_TUNABLES=glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=67108864"

// pluginExec is libcni's default way of running a plugin, with
// pluginTunables in its environment.
type pluginExec struct{ invoke.DefaultExec }

func newPluginExec() *pluginExec {
	return &pluginExec{invoke.DefaultExec{RawExec: &invoke.RawExec{Stderr: os.Stderr}, PluginDecoder: version.PluginDecoder{}}}
}

// ExecPlugin implements invoke.Exec.
func (e *pluginExec) ExecPlugin(ctx context.Context, pluginPath string, stdinData []byte, environ []string) ([]byte, error) {
	return e.DefaultExec.ExecPlugin(ctx, pluginPath, stdinData, pluginEnviron(environ))
}

// pluginEnviron is environ with pluginTunables, unless it sets
// GLIBC_TUNABLES already.
func pluginEnviron(environ []string) []string {
	if slices.ContainsFunc(environ, func(kv string) bool { return strings.HasPrefix(kv, "GLIBC_TUNABLES=") }) {
		return environ
	}
	return append(slices.Clip(environ), pluginTunables)
}
