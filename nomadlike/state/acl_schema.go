package state

import (
	"errors"
	"fmt"

	memdb "github.com/hashicorp/go-memdb"
)

// ACL and namespace tables.
const (
	tableACLPolicies = "acl_policy"
	tableACLTokens   = "acl_token"
	tableACLRoles    = "acl_role"
	tableNamespaces  = "namespaces"
	// indexACLBootstrap is the key in the index table holding the Raft
	// index of the last ACL bootstrap (0: never bootstrapped).
	indexACLBootstrap = "acl_token_bootstrap"

	indexSecretHash = "secret_hash"
	indexName       = "name"
)

func aclTableSchemas() []*memdb.TableSchema {
	return []*memdb.TableSchema{
		tableSchema(tableACLPolicies, stringIndex(indexID, "Name", true, false)),
		tableSchema(tableACLTokens,
			stringIndex(indexID, "AccessorID", true, false),
			&memdb.IndexSchema{Name: indexSecretHash, Unique: true, Indexer: bytesFieldIndex{field: "Hash"}},
		),
		tableSchema(tableACLRoles,
			stringIndex(indexID, "ID", true, false),
			stringIndex(indexName, "Name", true, false),
		),
		tableSchema(tableNamespaces, stringIndex(indexID, "Name", true, false)),
	}
}

// bytesFieldIndex indexes a []byte field (a token's secret hash).
type bytesFieldIndex struct{ field string }

// FromObject implements memdb.SingleIndexer.
func (b bytesFieldIndex) FromObject(obj any) (bool, []byte, error) {
	h, ok := hashOf(obj)
	if !ok {
		return false, nil, fmt.Errorf("state: %T has no []byte field %q", obj, b.field)
	}
	if len(h) == 0 {
		return false, nil, nil
	}
	return true, append([]byte{}, h...), nil
}

// FromArgs implements memdb.Indexer.
func (b bytesFieldIndex) FromArgs(args ...any) ([]byte, error) {
	if len(args) != 1 {
		return nil, errors.New("state: a secret hash lookup takes one argument")
	}
	h, ok := args[0].([]byte)
	if !ok {
		return nil, fmt.Errorf("state: a secret hash lookup takes []byte, not %T", args[0])
	}
	return h, nil
}
