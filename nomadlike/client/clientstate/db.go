// Package clientstate is the client's local state database (bbolt at
// DataDir/client/state.db): the node's identity, and for each allocation
// the allocation itself plus every task's driver handle and TaskState, so a
// restarted client re-attaches to running tasks instead of restarting them.
//
// Values are JSON. A DB is safe for concurrent use; writes are durable
// when the call returns.
//
// The layout has a schema version (bucket "meta", key "schema_version").
// Open migrates an older database forward in one transaction (migrations,
// one step per version) and refuses a newer one, so a task started by one
// release is re-attached by the next. A database without the key is
// version 1, the layout before versions were recorded. testdata holds a
// database written by each version; a test opens each.
package clientstate

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/nomadlike/nomadlike/drivers"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

var (
	nodeBucket  = []byte("node")
	allocBucket = []byte("allocs")
	metaBucket  = []byte("meta")
	versionKey  = []byte("schema_version")
)

// SchemaVersion is the layout this code writes.
const SchemaVersion = 2

// migrations[v] turns a version v database into version v+1, inside the
// transaction that then records v+1. Append one for each new version; never
// change an old one.
var migrations = map[int]func(tx *bolt.Tx) error{
	// 1 -> 2: the layout is unchanged; the meta bucket records the version.
	1: func(*bolt.Tx) error { return nil },
}

const (
	// dynamicMetaKey (bucket "node") holds the dynamic node metadata; an
	// older release ignores it, so the schema version stays.
	dynamicMetaKey = "dynamic_meta"
	allocKey       = "alloc"
	handlePrefix   = "handle/"
	statePrefix    = "state/"
)

// DB is the client's state database.
type DB struct {
	db   *bolt.DB
	path string
}

// Open opens (creating) the database at path. It fails after a second if
// another process holds it open.
func Open(path string) (*DB, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return nil, fmt.Errorf("open client state %s: another agent is using this data dir: %w", path, err)
		}
		return nil, fmt.Errorf("open client state %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		fresh := tx.Bucket(nodeBucket) == nil && tx.Bucket(allocBucket) == nil && tx.Bucket(metaBucket) == nil
		for _, b := range [][]byte{nodeBucket, allocBucket, metaBucket} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		if fresh {
			return setVersion(tx, SchemaVersion)
		}
		return migrate(tx)
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("init client state %s: %w", path, err)
	}
	return &DB{db: db, path: path}, nil
}

// version reads the schema version (1 when none is recorded).
func version(tx *bolt.Tx) (int, error) {
	v := tx.Bucket(metaBucket).Get(versionKey)
	if v == nil {
		return 1, nil
	}
	n, err := strconv.Atoi(string(v))
	if err != nil || n < 1 {
		return 0, fmt.Errorf("schema version %q is not a positive number (the file is damaged)", v)
	}
	return n, nil
}

func setVersion(tx *bolt.Tx, v int) error {
	return tx.Bucket(metaBucket).Put(versionKey, []byte(strconv.Itoa(v)))
}

// migrate brings the database to SchemaVersion, refusing a newer one.
func migrate(tx *bolt.Tx) error {
	v, err := version(tx)
	if err != nil {
		return err
	}
	if v > SchemaVersion {
		return fmt.Errorf("schema version %d was written by a newer nomadlike (this one understands up to %d): run the newer release, or move the data_dir's client directory aside to start this client empty (its running tasks are then not re-attached)", v, SchemaVersion)
	}
	for ; v < SchemaVersion; v++ {
		step, ok := migrations[v]
		if !ok {
			return fmt.Errorf("no migration from schema version %d", v)
		}
		if err := step(tx); err != nil {
			return fmt.Errorf("migrate schema version %d to %d: %w", v, v+1, err)
		}
	}
	return setVersion(tx, SchemaVersion)
}

// SchemaVersion returns the database's schema version.
func (d *DB) SchemaVersion() (int, error) {
	var v int
	err := d.db.View(func(tx *bolt.Tx) (err error) {
		v, err = version(tx)
		return err
	})
	return v, err
}

// Close closes the database.
func (d *DB) Close() error { return d.db.Close() }

// Identity is the node's persistent ID and secret.
type Identity struct {
	NodeID   string
	SecretID string
}

// Identity returns the stored identity, or a zero value when none is stored.
func (d *DB) Identity() (Identity, error) {
	var id Identity
	err := d.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(nodeBucket).Get([]byte("identity"))
		if v == nil {
			return nil
		}
		return json.Unmarshal(v, &id)
	})
	if err != nil {
		return Identity{}, fmt.Errorf("read node identity from %s: %w", d.path, err)
	}
	return id, nil
}

// PutIdentity stores the node's identity.
func (d *DB) PutIdentity(id Identity) error {
	return d.put(nodeBucket, nil, "identity", id)
}

// DynamicMeta returns the node metadata set through the API (nil values
// remove keys), nil when none was set.
func (d *DB) DynamicMeta() (map[string]*string, error) {
	var meta map[string]*string
	err := d.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(nodeBucket).Get([]byte(dynamicMetaKey))
		if v == nil {
			return nil
		}
		return json.Unmarshal(v, &meta)
	})
	if err != nil {
		return nil, fmt.Errorf("read dynamic node metadata from %s: %w", d.path, err)
	}
	return meta, nil
}

// PutDynamicMeta stores the node metadata set through the API.
func (d *DB) PutDynamicMeta(meta map[string]*string) error {
	return d.put(nodeBucket, nil, dynamicMetaKey, meta)
}

// PutAlloc stores an allocation (as the client last saw it).
func (d *DB) PutAlloc(a *structs.Allocation) error {
	return d.put(allocBucket, []byte(a.ID), allocKey, a)
}

// PutTaskHandle stores a task's driver handle.
func (d *DB) PutTaskHandle(allocID, task string, h *drivers.TaskHandle) error {
	return d.put(allocBucket, []byte(allocID), handlePrefix+task, h)
}

// DeleteTaskHandle removes a task's driver handle (the task is gone).
func (d *DB) DeleteTaskHandle(allocID, task string) error {
	return d.db.Batch(func(tx *bolt.Tx) error {
		b := tx.Bucket(allocBucket).Bucket([]byte(allocID))
		if b == nil {
			return nil
		}
		return b.Delete([]byte(handlePrefix + task))
	})
}

// PutTaskState stores a task's state.
func (d *DB) PutTaskState(allocID, task string, s *structs.TaskState) error {
	return d.put(allocBucket, []byte(allocID), statePrefix+task, s)
}

// DeleteAlloc removes an allocation and its tasks' records.
func (d *DB) DeleteAlloc(allocID string) error {
	err := d.db.Batch(func(tx *bolt.Tx) error {
		err := tx.Bucket(allocBucket).DeleteBucket([]byte(allocID))
		if errors.Is(err, bolt.ErrBucketNotFound) {
			return nil
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("delete alloc %s from client state: %w", allocID, err)
	}
	return nil
}

// RestoredAlloc is an allocation read back with its tasks' records.
type RestoredAlloc struct {
	Alloc   *structs.Allocation
	Handles map[string]*drivers.TaskHandle
	States  map[string]*structs.TaskState
}

// Allocs returns every stored allocation.
func (d *DB) Allocs() ([]*RestoredAlloc, error) {
	var out []*RestoredAlloc
	err := d.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(allocBucket).ForEachBucket(func(k []byte) error {
			b := tx.Bucket(allocBucket).Bucket(k)
			r := &RestoredAlloc{Handles: map[string]*drivers.TaskHandle{}, States: map[string]*structs.TaskState{}}
			err := b.ForEach(func(key, v []byte) error {
				ks := string(key)
				switch {
				case ks == allocKey:
					return json.Unmarshal(v, &r.Alloc)
				case strings.HasPrefix(ks, handlePrefix):
					var h drivers.TaskHandle
					if err := json.Unmarshal(v, &h); err != nil {
						return err
					}
					r.Handles[strings.TrimPrefix(ks, handlePrefix)] = &h
				case strings.HasPrefix(ks, statePrefix):
					var s structs.TaskState
					if err := json.Unmarshal(v, &s); err != nil {
						return err
					}
					r.States[strings.TrimPrefix(ks, statePrefix)] = &s
				}
				return nil
			})
			if err != nil {
				return fmt.Errorf("alloc %s: %w", k, err)
			}
			if r.Alloc != nil {
				out = append(out, r)
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("read allocations from client state %s: %w", d.path, err)
	}
	return out, nil
}

func (d *DB) put(bucket, sub []byte, key string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s for client state: %w", key, err)
	}
	err = d.db.Batch(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket)
		if sub != nil {
			if b, err = b.CreateBucketIfNotExists(sub); err != nil {
				return err
			}
		}
		return b.Put([]byte(key), data)
	})
	if err != nil {
		return fmt.Errorf("write %s to client state %s: %w", key, d.path, err)
	}
	return nil
}
