package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
)

// mergeImported decides what an import stores for one entry: fromFile is
// the file's entry, stored the entry in the store (nil when new). It
// reads the entry as last imported from bucket imported (the base), merges
// field by field — the file's value where the file changed the field
// since the base, the stored value elsewhere — records in im.res the
// fields that kept a value other than the file's, and remembers fromFile
// as the new base.
//
// Without a base, every field counts as changed in the file except the
// file's empty ones: the stored value stays for those.
//
// An entry deleted through the API since the last import keeps its base:
// while the file gives the entry as it was, deleted reports true and the
// import leaves it deleted; once the file changes it, it is created anew.
func mergeImported[T any](im importer, kind, id string, fromFile T, stored *T) (T, bool, error) {
	key := pairKey(kind, id)
	imported := im.tx.Bucket(bucketImported)
	fileJSON, err := json.Marshal(fromFile)
	if err != nil {
		return fromFile, false, fmt.Errorf("encode %s %s: %w", kind, id, err)
	}
	// A copy: the bucket's bytes may move once it is written to.
	base := bytes.Clone(imported.Get(key))
	if stored == nil && bytes.Equal(base, fileJSON) {
		im.res.Kept = append(im.res.Kept, KeptField{Kind: kind, ID: id, Field: "(deleted)"})
		return fromFile, true, nil
	}
	if !bytes.Equal(base, fileJSON) {
		if err := imported.Put(key, fileJSON); err != nil {
			return fromFile, false, err
		}
	}
	if stored == nil {
		return fromFile, false, nil
	}
	storedJSON, err := json.Marshal(*stored)
	if err != nil {
		return fromFile, false, fmt.Errorf("encode %s %s: %w", kind, id, err)
	}
	merged, kept, err := mergeFields(base, fileJSON, storedJSON)
	if err != nil {
		return fromFile, false, fmt.Errorf("merge %s %s: %w", kind, id, err)
	}
	for _, f := range kept {
		im.res.Kept = append(im.res.Kept, KeptField{Kind: kind, ID: id, Field: f})
	}
	// The whole of one side comes back as that side, not re-encoded: an
	// empty list must not turn into null and count as a change.
	switch {
	case merged == nil:
		return *stored, false, nil
	case len(kept) == 0:
		return fromFile, false, nil
	}
	var out T
	if err := json.Unmarshal(merged, &out); err != nil {
		return fromFile, false, fmt.Errorf("merge %s %s: %w", kind, id, err)
	}
	return out, false, nil
}

// mergeFields merges three JSON objects of one type key by key: a key
// whose value in file differs from base takes file's, every other key
// keeps stored's. base nil means no base: file's non-empty values count
// as changes. Empty values ("", [], {}, null) count as absent. kept lists,
// sorted, the keys whose result differs from file's; merged is nil when
// the result is stored's in every key.
func mergeFields(base, file, stored []byte) (merged []byte, kept []string, err error) {
	fRaw, f, err := fieldsOf(file)
	if err != nil {
		return nil, nil, err
	}
	sRaw, s, err := fieldsOf(stored)
	if err != nil {
		return nil, nil, err
	}
	b := map[string]json.RawMessage{}
	if base != nil {
		if _, b, err = fieldsOf(base); err != nil {
			return nil, nil, err
		}
	}
	// The result takes each side's value as written ("[]" stays "[]"),
	// and compares them with the empty ones dropped.
	out := map[string]json.RawMessage{}
	take := func(k string, from map[string]json.RawMessage) {
		if v, ok := from[k]; ok {
			out[k] = v
		}
	}
	asStored := true
	for k := range union(fRaw, sRaw) {
		if !bytes.Equal(f[k], b[k]) {
			take(k, fRaw)
			asStored = asStored && bytes.Equal(f[k], s[k])
			continue
		}
		take(k, sRaw)
		if !bytes.Equal(s[k], f[k]) {
			kept = append(kept, k)
		}
	}
	slices.Sort(kept)
	if asStored {
		return nil, kept, nil
	}
	merged, err = json.Marshal(out)
	return merged, kept, err
}

// fieldsOf splits a JSON object into its keys' values: all of them, and
// those that are not empty ("", [], {}, null).
func fieldsOf(obj []byte) (all, nonEmpty map[string]json.RawMessage, err error) {
	if err := json.Unmarshal(obj, &all); err != nil {
		return nil, nil, err
	}
	nonEmpty = make(map[string]json.RawMessage, len(all))
	for k, v := range all {
		switch string(v) {
		case `""`, `[]`, `{}`, `null`:
		default:
			nonEmpty[k] = v
		}
	}
	return all, nonEmpty, nil
}

func union(a, b map[string]json.RawMessage) map[string]bool {
	keys := make(map[string]bool, len(a)+len(b))
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	return keys
}
