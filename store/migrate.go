package store

import (
	"fmt"
	"strconv"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// SchemaVersion is the version of the layout this package reads and
// writes, kept in meta/schema_version. It is the number of migrations.
const SchemaVersion = len(migrations)

// migrations takes a database from version i to i+1 at index i. Each one
// spells out what it does rather than refer to the current bucket list, so
// that later versions cannot change what an old step did. Append only.
var migrations = [...]func(tx *bolt.Tx) error{
	// 0 → 1: the first layout.
	func(tx *bolt.Tx) error {
		for _, name := range []string{
			"meta", "orgs", "users", "pools", "users_by_phone",
			"agents_by_endpoint", "supervised", "supervisors_of", "devices",
			"devices_by_user", "audit", "audit_by_org", "offers",
		} {
			if _, err := tx.CreateBucketIfNotExists([]byte(name)); err != nil {
				return fmt.Errorf("create bucket %s: %w", name, err)
			}
		}
		return nil
	},
	// 1 → 2: each directory entry as last imported, so an import tells the
	// file's changes from the API's (ImportDirectory).
	func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists([]byte("imported"))
		return err
	},
}

// migrate brings the database in tx up to SchemaVersion and checks the
// result. It refuses a bbolt file that holds buckets but no meta bucket
// (another program's database) and a version newer than SchemaVersion.
func migrate(tx *bolt.Tx) error {
	version, err := schemaVersion(tx)
	if err != nil {
		return err
	}
	if version > SchemaVersion {
		return fmt.Errorf("%w: schema version %d, this earshot knows up to %d (upgrade earshot, or restore a backup made by this version)",
			ErrNewerSchema, version, SchemaVersion)
	}
	for v := version; v < SchemaVersion; v++ {
		if err := migrations[v](tx); err != nil {
			return fmt.Errorf("migrate schema from version %d to %d: %w", v, v+1, err)
		}
	}
	if version < SchemaVersion {
		meta := tx.Bucket(bucketMeta)
		if err := meta.Put(keySchemaVersion, []byte(strconv.Itoa(SchemaVersion))); err != nil {
			return fmt.Errorf("write schema version: %w", err)
		}
	}
	for _, name := range buckets {
		if tx.Bucket(name) == nil {
			return fmt.Errorf("%w: bucket %s is missing at schema version %d", ErrNotDatabase, name, SchemaVersion)
		}
	}
	return nil
}

// schemaVersion reads meta/schema_version: 0 for a new, empty database.
func schemaVersion(tx *bolt.Tx) (int, error) {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		var names []string
		_ = tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
			names = append(names, strconv.Quote(string(name)))
			return nil
		})
		if len(names) > 0 {
			return 0, fmt.Errorf("%w: it is a bbolt database of another program (buckets %s)", ErrNotDatabase, strings.Join(names, ", "))
		}
		return 0, nil
	}
	raw := meta.Get(keySchemaVersion)
	version, err := strconv.Atoi(string(raw))
	if err != nil || version < 1 {
		return 0, fmt.Errorf("%w: meta/schema_version %q is not a version", ErrNotDatabase, raw)
	}
	return version, nil
}
