package agent

import (
	"os"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// ACLConfig is the agent's acl block, as Nomad's.
type ACLConfig struct {
	// Enabled turns on ACL enforcement: every request needs a token whose
	// policies allow it (or the anonymous policy must).
	Enabled bool
	// TokenTTL, PolicyTTL and RoleTTL bound how long a client-only agent
	// caches what a server told it about a token (default 30s each).
	TokenTTL  time.Duration
	PolicyTTL time.Duration
	RoleTTL   time.Duration
}

// defaultACLCacheTTL is Nomad's default token_ttl / policy_ttl / role_ttl.
const defaultACLCacheTTL = 30 * time.Second

// cacheTTL returns how long a client-only agent may cache a resolved token.
func (c ACLConfig) cacheTTL() time.Duration {
	ttl := c.TokenTTL
	for _, d := range []time.Duration{c.PolicyTTL, c.RoleTTL} {
		if d > 0 && (ttl == 0 || d < ttl) {
			ttl = d
		}
	}
	if ttl <= 0 {
		return defaultACLCacheTTL
	}
	return ttl
}

// fileACL is the acl block as written. replication_token and
// token_min_expiration_ttl / token_max_expiration_ttl are accepted so Nomad
// configs load; nomadlike has one region and no token TTL bounds.
type fileACL struct {
	Enabled          *bool          `hcl:"enabled,optional"`
	TokenTTL         hcl.Expression `hcl:"token_ttl,optional"`
	PolicyTTL        hcl.Expression `hcl:"policy_ttl,optional"`
	RoleTTL          hcl.Expression `hcl:"role_ttl,optional"`
	ReplicationToken *string        `hcl:"replication_token,optional"`
	TokenMinTTL      hcl.Expression `hcl:"token_min_expiration_ttl,optional"`
	TokenMaxTTL      hcl.Expression `hcl:"token_max_expiration_ttl,optional"`
}

func (a *fileACL) apply(c *Config) error {
	if a == nil {
		return nil
	}
	setBool(&c.ACL.Enabled, a.Enabled)
	for _, d := range []struct {
		to   *time.Duration
		expr hcl.Expression
	}{{&c.ACL.TokenTTL, a.TokenTTL}, {&c.ACL.PolicyTTL, a.PolicyTTL}, {&c.ACL.RoleTTL, a.RoleTTL}} {
		if err := setDuration(d.to, d.expr); err != nil {
			return err
		}
	}
	return nil
}

// introToken is what this agent's client registers its node with: the
// configured intro token (or NOMAD_CLIENT_INTRO_TOKEN), else, on an agent
// that also runs a server, the in-process key its HTTP API accepts.
func (a *Agent) introToken() string {
	if !a.cfg.ACL.Enabled {
		return ""
	}
	if a.cfg.Client.IntroToken != "" {
		return a.cfg.Client.IntroToken
	}
	if t := os.Getenv("NOMAD_CLIENT_INTRO_TOKEN"); t != "" {
		return t
	}
	return a.localClientKey
}
