package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"os"
)

// The parts of bbolt's file format (version 2) that checkFile reads. A
// page starts with a 16-byte header; pages 0 and 1 hold the meta, whose
// fields are in the machine's byte order.
const (
	boltMagic   = 0xED0CDAED
	boltVersion = 2
	metaStart   = 16      // the meta after the page header
	metaSumLen  = 56      // the meta bytes the checksum covers
	metaLen     = 56 + 8  // with the checksum
	maxPageSize = 1 << 24 // as far as bbolt looks for the second meta page
)

// checkFile refuses an existing file bbolt cannot safely map: one with no
// valid meta page, or one shorter than its meta page says. bbolt reads
// such a file's missing pages through its memory map, which faults (a
// SIGBUS that would kill the process) and leaves the file locked, because
// the mapping outlives any cleanup. A missing or empty file is fine: bbolt
// creates it.
func checkFile(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || fi.Size() == 0 {
		return err
	}

	// bbolt uses the valid meta page with the higher transaction id.
	var best *meta
	m0, err := readMeta(f, 0)
	if err != nil {
		return err
	}
	offsets := []int64{int64(m0.pageSize)}
	if !m0.valid {
		offsets = offsets[:0]
		for size := int64(1024); size <= maxPageSize; size <<= 1 {
			offsets = append(offsets, size)
		}
	} else {
		best = &m0
	}
	for _, off := range offsets {
		m1, err := readMeta(f, off)
		if err != nil {
			return err
		}
		if m1.valid && (best == nil || m1.txid > best.txid) {
			best = &m1
			break
		}
	}
	switch {
	case best == nil:
		return fmt.Errorf("%w: it is not a bbolt database, or both its meta pages are damaged", ErrNotDatabase)
	case uint64(fi.Size()) < best.pgid*uint64(best.pageSize):
		return fmt.Errorf("%w: the file is truncated (%d bytes of %d)", ErrNotDatabase, fi.Size(), best.pgid*uint64(best.pageSize))
	}
	return nil
}

type meta struct {
	valid      bool
	pageSize   uint32
	pgid, txid uint64
}

// readMeta reads the meta page at off; a short read is an invalid page.
func readMeta(f *os.File, off int64) (meta, error) {
	buf := make([]byte, metaStart+metaLen)
	if _, err := f.ReadAt(buf, off); errors.Is(err, io.EOF) {
		return meta{}, nil
	} else if err != nil {
		return meta{}, err
	}
	b, order := buf[metaStart:], binary.NativeEndian
	h := fnv.New64a()
	h.Write(b[:metaSumLen])
	pageSize := order.Uint32(b[8:])
	return meta{
		valid: order.Uint32(b[0:]) == boltMagic && order.Uint32(b[4:]) == boltVersion &&
			order.Uint64(b[metaSumLen:]) == h.Sum64() && pageSize >= 1024 && pageSize <= maxPageSize,
		pageSize: pageSize,
		pgid:     order.Uint64(b[40:]),
		txid:     order.Uint64(b[48:]),
	}, nil
}
