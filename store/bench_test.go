package store_test

import (
	"context"
	"testing"

	"github.com/earshot/earshot"
)

// The reads the ARI event pump and the offer service make per call.
func BenchmarkDB_AgentByEndpoint(b *testing.B) {
	db, ctx := MustImport(b), context.Background()
	for b.Loop() {
		if _, err := db.AgentByEndpoint(ctx, "PJSIP/1001"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDB_SupervisorsOf(b *testing.B) {
	db, ctx := MustImport(b), context.Background()
	must(b, db.Supervise(ctx, "sara", "alice"))
	for b.Loop() {
		if _, err := db.SupervisorsOf(ctx, "alice"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDB_Record(b *testing.B) {
	db, ctx := MustOpen(b), context.Background()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := db.Record(ctx, earshot.AuditEntry{Kind: earshot.AuditMode, Org: "acme"}); err != nil {
				b.Error(err)
			}
		}
	})
}
