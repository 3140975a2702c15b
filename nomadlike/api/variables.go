package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// RootKeys lists the keyring's keys (metadata only).
func (c *Client) RootKeys(ctx context.Context) ([]*structs.RootKeyMeta, error) {
	var out []*structs.RootKeyMeta
	_, err := c.query(ctx, "/v1/operator/keyring/keys", nil, &out)
	return out, err
}

// RotateRootKey makes a new active root key; full re-encrypts every
// variable with it in the background.
func (c *Client) RotateRootKey(ctx context.Context, full bool) (*structs.RootKeyMeta, error) {
	var out struct{ Key *structs.RootKeyMeta }
	q := &QueryOptions{}
	if full {
		q.Params = map[string]string{"full": "true"}
	}
	err := c.write(ctx, http.MethodPut, "/v1/operator/keyring/rotate", q, nil, &out)
	return out.Key, err
}

// RemoveRootKey removes an inactive root key; force also removes one that
// may have signed the identities of running tasks.
func (c *Client) RemoveRootKey(ctx context.Context, id string, force bool) error {
	return c.write(ctx, http.MethodDelete, "/v1/operator/keyring/key/"+pathEscape(id), &QueryOptions{Params: map[string]string{"force": strconv.FormatBool(force)}}, nil, nil)
}

// Variables lists variables' metadata (q.Prefix, q.Namespace "*").
func (c *Client) Variables(ctx context.Context, q *QueryOptions) ([]*structs.VariableMetadata, *QueryMeta, error) {
	var out []*structs.VariableMetadata
	meta, err := c.query(ctx, "/v1/vars", q, &out)
	return out, meta, err
}

// Variable reads one variable with its items (a 404 *Error when absent).
func (c *Client) Variable(ctx context.Context, path string, q *QueryOptions) (*structs.VariableDecrypted, *QueryMeta, error) {
	var out structs.VariableDecrypted
	meta, err := c.query(ctx, "/v1/var/"+path, q, &out)
	if err != nil {
		return nil, nil, err
	}
	return &out, meta, nil
}

// ErrVariableConflict is a write refused by check-and-set or a lock: the
// variable as it is (its items only for a token that may read them).
type ErrVariableConflict struct {
	Current *structs.VariableDecrypted
}

func (e *ErrVariableConflict) Error() string {
	return "check-and-set conflict: the variable's modify index is " + strconv.FormatUint(e.Current.ModifyIndex, 10) + " or it is locked"
}

// conflict turns a 409 reply into *ErrVariableConflict.
func conflict(err error) error {
	var e *Error
	if errors.As(err, &e) && e.StatusCode == http.StatusConflict {
		cur := &structs.VariableDecrypted{}
		if json.Unmarshal([]byte(e.Message), cur) == nil {
			return &ErrVariableConflict{Current: cur}
		}
	}
	return err
}

// PutVariable writes a variable; op is "" (set), "lock-acquire",
// "lock-renew" or "lock-release"; cas, when set, is the check-and-set index.
func (c *Client) PutVariable(ctx context.Context, v *structs.VariableDecrypted, op string, cas *uint64) (*structs.VariableDecrypted, error) {
	q := &QueryOptions{Namespace: v.Namespace, Params: map[string]string{}}
	if cas != nil {
		q.Params["cas"] = strconv.FormatUint(*cas, 10)
	}
	if op != "" {
		q.Params[op] = ""
	}
	var out structs.VariableDecrypted
	if err := c.write(ctx, http.MethodPut, "/v1/var/"+v.Path, q, v, &out); err != nil {
		return nil, conflict(err)
	}
	return &out, nil
}

// DeleteVariable deletes a variable; cas, when set, is the check-and-set index.
func (c *Client) DeleteVariable(ctx context.Context, namespace, path string, cas *uint64) error {
	q := &QueryOptions{Namespace: namespace}
	if cas != nil {
		q.Params = map[string]string{"cas": strconv.FormatUint(*cas, 10)}
	}
	return conflict(c.write(ctx, http.MethodDelete, "/v1/var/"+path, q, nil, nil))
}

// SignIdentities asks for workload identities of the node's allocations'
// tasks (PUT /v1/node/{id}/identities). The client must be created with
// the node's secret as its token.
func (c *Client) SignIdentities(ctx context.Context, nodeID string, req *structs.SignIdentitiesRequest) (*structs.SignIdentitiesResponse, error) {
	var out structs.SignIdentitiesResponse
	return &out, c.write(ctx, http.MethodPut, "/v1/node/"+pathEscape(nodeID)+"/identities", nil, req, &out)
}
