package command

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/nomadlike/nomadlike/nomadlike/api"
)

// Exit codes, as Nomad's CLI uses them.
const (
	exitOK     = 0
	exitError  = 1
	exitFailed = 2 // placements failed or allocations failed
)

// cliError is an error a command returns to Main: what it was doing, the
// cause, a hint of what to do next, and the exit code. A silent cliError has
// already been explained on the output and only sets the exit code.
type cliError struct {
	code   int
	doing  string
	err    error
	hint   string
	silent bool
}

func (e *cliError) Error() string {
	if e.err == nil {
		return e.doing
	}
	return fmt.Sprintf("%s: %v", e.doing, e.err)
}

func (e *cliError) Unwrap() error { return e.err }

// fail returns an exit-1 error for a failed step; the hint is derived from
// the cause when hint is empty.
func fail(doing string, err error, hint string) error {
	return &cliError{code: exitError, doing: doing, err: err, hint: hint}
}

// usageError is a mistake in the command line.
func usageError(cmdPath, format string, args ...any) error {
	return &cliError{code: exitError, doing: "in command line", err: fmt.Errorf(format, args...),
		hint: fmt.Sprintf("Run '%s -help' for usage.", cmdPath)}
}

// exitWith returns an error that only carries an exit code: the command has
// already printed the explanation.
func exitWith(code int) error { return &cliError{code: code, silent: true} }

// hintOn returns hint when err is an API error with one of the statuses,
// else "": the server's message says what went wrong in the API's terms,
// and the command adds which of our commands fixes it.
func hintOn(err error, hint string, statuses ...int) string {
	var apiErr *api.Error
	if errors.As(err, &apiErr) {
		for _, s := range statuses {
			if apiErr.StatusCode == s {
				return hint
			}
		}
	}
	return ""
}

// agentHint suggests what to do about an error talking to the agent at addr.
func agentHint(err error, addr string) string {
	var apiErr *api.Error
	var netErr net.Error
	var opErr *net.OpError
	switch {
	case errors.As(err, &apiErr):
		switch apiErr.StatusCode {
		case http.StatusForbidden:
			return "The agent refused the token: set a valid one with -token or NOMAD_TOKEN."
		case http.StatusNotFound:
			return "Check the ID (and -namespace); list what exists with the matching 'status' command."
		case http.StatusBadRequest:
			return "Fix the request as the message says and try again."
		case http.StatusInternalServerError, http.StatusServiceUnavailable:
			return "The agent failed: check its log output; if the cluster has no leader yet, wait and retry."
		}
	case isTLSError(err):
		return tlsHint(err, addr)
	case errors.As(err, &opErr), errors.As(err, &netErr), strings.Contains(err.Error(), "connection refused"):
		return fmt.Sprintf("Is a nomadlike agent running at %s? Start one with 'nomadlike agent -dev', or point the CLI at one with -address or NOMAD_ADDR.", addr)
	}
	return ""
}

// isTLSError reports whether err comes from a TLS handshake or from
// speaking http to an https agent (or the reverse).
func isTLSError(err error) bool {
	var certErr *tls.CertificateVerificationError
	var alert tls.AlertError
	var recErr tls.RecordHeaderError
	msg := err.Error()
	return errors.As(err, &certErr) || errors.As(err, &alert) || errors.As(err, &recErr) ||
		strings.Contains(msg, "x509:") || strings.Contains(msg, "tls:") ||
		strings.Contains(msg, "server gave HTTP response to HTTPS client")
}

func tlsHint(err error, addr string) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "server gave HTTP response to HTTPS client"):
		return fmt.Sprintf("The agent at %s serves plain HTTP: use an http:// address.", addr)
	case strings.Contains(msg, "malformed HTTP response") || strings.Contains(msg, "first record does not look like a TLS handshake"):
		return fmt.Sprintf("The agent at %s may serve HTTPS (tls { http = true }): use an https:// address with -ca-cert (NOMAD_CACERT).", addr)
	case strings.Contains(msg, "certificate required") || strings.Contains(msg, "bad certificate") || strings.Contains(msg, "unknown certificate authority"):
		return "The agent requires a client certificate of its CA (verify_https_client): pass -client-cert and -client-key (NOMAD_CLIENT_CERT, NOMAD_CLIENT_KEY), e.g. made by `nomadlike tls cert create -cli`."
	}
	return "The TLS handshake failed: pass the CA that signed the agent's certificate with -ca-cert (NOMAD_CACERT), and a client certificate with -client-cert/-client-key when the agent requires one."
}
