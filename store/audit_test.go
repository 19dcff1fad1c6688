package store_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/earshot/earshot"
	"github.com/earshot/earshot/store"
)

func TestDB_Record(t *testing.T) {
	ctx := context.Background()
	t.Run("OK", func(t *testing.T) {
		db := MustOpen(t)
		at := now.Add(-time.Minute)
		must(t, db.Record(ctx, earshot.AuditEntry{Kind: earshot.AuditConnect, Org: "acme", Session: "s1", Mode: earshot.ModeListen, Time: at}))
		must(t, db.Record(ctx, earshot.AuditEntry{Kind: earshot.AuditReject, Caller: "+358409999999", Reason: earshot.RejectUnknownNumber}))
		rs, err := db.Audit(ctx, store.AuditQuery{})
		must(t, err)
		if len(rs) != 2 || rs[0].Seq != 2 || rs[1].Seq != 1 {
			t.Fatalf("Audit = %+v", rs)
		}
		if !rs[0].Time.Equal(now) || rs[0].Reason != earshot.RejectUnknownNumber {
			t.Errorf("the entry without a time: %+v", rs[0])
		}
		if !rs[1].Time.Equal(at) || rs[1].Session != "s1" || rs[1].Mode != earshot.ModeListen {
			t.Errorf("the entry with a time: %+v", rs[1])
		}
	})
	t.Run("Concurrent", func(t *testing.T) {
		db := MustOpen(t)
		const writers, each = 50, 20
		var wg sync.WaitGroup
		errs := make(chan error, writers*each)
		for w := range writers {
			wg.Go(func() {
				for i := range each {
					errs <- db.Record(ctx, earshot.AuditEntry{Kind: earshot.AuditMode, Org: fmt.Sprintf("org%d", w%2), Session: fmt.Sprintf("%d/%d", w, i)})
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			must(t, err)
		}
		seen := map[string]bool{}
		var before uint64
		for {
			rs, err := db.Audit(ctx, store.AuditQuery{Before: before, Limit: store.MaxAuditLimit})
			must(t, err)
			if len(rs) == 0 {
				break
			}
			for i, r := range rs {
				if seen[r.Session] || (i > 0 && r.Seq != rs[i-1].Seq-1) {
					t.Fatalf("record %d (%s) is repeated or out of order", r.Seq, r.Session)
				}
				seen[r.Session] = true
			}
			before = rs[len(rs)-1].Seq
		}
		if len(seen) != writers*each {
			t.Fatalf("%d records, want %d", len(seen), writers*each)
		}
	})
	t.Run("ErrCanceled", func(t *testing.T) {
		if err := MustOpen(t).Record(canceled(), earshot.AuditEntry{Kind: earshot.AuditEnd}); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestDB_Audit(t *testing.T) {
	db, ctx := MustOpen(t), context.Background()
	// 1200 entries from concurrent writers, half of them acme's.
	var wg sync.WaitGroup
	for w := range 40 {
		wg.Go(func() {
			for i := range 30 {
				if err := db.Record(ctx, earshot.AuditEntry{Kind: earshot.AuditEnd, Org: []string{"acme", "globex"}[w%2], Session: fmt.Sprint(w, "/", i)}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()

	// The whole trail, newest first, is the oracle for the queries.
	all, err := db.Audit(ctx, store.AuditQuery{Limit: store.MaxAuditLimit})
	must(t, err)
	rest, err := db.Audit(ctx, store.AuditQuery{Before: all[len(all)-1].Seq, Limit: store.MaxAuditLimit})
	must(t, err)
	all = append(all, rest...)
	for i, r := range all {
		if r.Seq != uint64(len(all)-i) {
			t.Fatalf("record %d of the trail has sequence number %d", i, r.Seq)
		}
	}
	want := func(q store.AuditQuery) []store.AuditRecord {
		limit := min(cmp.Or(max(q.Limit, 0), store.DefaultAuditLimit), store.MaxAuditLimit)
		out := []store.AuditRecord{}
		for _, r := range all {
			if len(out) < limit && (q.Before == 0 || r.Seq < q.Before) && (q.Org == "" || r.Org == q.Org) {
				out = append(out, r)
			}
		}
		return out
	}

	for _, tt := range []struct {
		name string
		q    store.AuditQuery
		n    int
	}{
		{"DefaultLimit", store.AuditQuery{}, store.DefaultAuditLimit},
		{"NegativeLimit", store.AuditQuery{Limit: -1}, store.DefaultAuditLimit},
		{"Limit", store.AuditQuery{Limit: 3}, 3},
		{"MaxLimit", store.AuditQuery{Limit: 5000}, store.MaxAuditLimit},
		{"Before", store.AuditQuery{Before: 5, Limit: 10}, 4},
		{"BeforeFirst", store.AuditQuery{Before: 1}, 0},
		{"BeforeBeyondEnd", store.AuditQuery{Before: 5000, Limit: 1}, 1},
		{"Org", store.AuditQuery{Org: "acme", Limit: 3}, 3},
		{"OrgAll", store.AuditQuery{Org: "globex", Limit: store.MaxAuditLimit}, 600},
		{"OrgBefore", store.AuditQuery{Org: "globex", Before: 600, Limit: store.MaxAuditLimit}, -1},
		{"OrgPrefix", store.AuditQuery{Org: "acm"}, 0},
		{"UnknownOrg", store.AuditQuery{Org: "initech"}, 0},
	} {
		t.Run("OK/"+tt.name, func(t *testing.T) {
			got, err := db.Audit(ctx, tt.q)
			must(t, err)
			w := want(tt.q)
			if tt.n >= 0 && len(w) != tt.n {
				t.Fatalf("the oracle has %d records, want %d", len(w), tt.n)
			}
			if got == nil || !slices.EqualFunc(got, w, func(a, b store.AuditRecord) bool { return a.Seq == b.Seq && a.AuditEntry == b.AuditEntry }) {
				t.Fatalf("Audit(%+v) = %d records, want %d", tt.q, len(got), len(w))
			}
		})
	}
	t.Run("ErrCanceled", func(t *testing.T) {
		if _, err := db.Audit(canceled(), store.AuditQuery{}); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v", err)
		}
	})
}
