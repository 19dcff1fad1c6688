package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/earshot/earshot"
)

func TestDB_PutOffer(t *testing.T) {
	ctx := context.Background()
	offer := earshot.Offer{
		ID: "o2", Org: "acme", Supervisor: "sara", Agent: "alice", Pool: "sales", CallID: "1700000000.42",
		Code: "4711", CreatedAt: now, ExpiresAt: now.Add(time.Minute),
	}
	t.Run("OK", func(t *testing.T) {
		db := MustOpen(t)
		must(t, db.PutOffer(ctx, offer))
		o1 := offer
		o1.ID, o1.Code = "o1", ""
		must(t, db.PutOffer(ctx, o1))
		offer.Agent = "bob" // replaces o2
		must(t, db.PutOffer(ctx, offer))

		db = MustReopen(t, db)
		got, err := db.Offers(ctx)
		must(t, err)
		if len(got) != 2 || got[0] != o1 || got[1] != offer {
			t.Fatalf("Offers = %+v\nwant [%+v %+v]", got, o1, offer)
		}
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		o := offer
		o.ID = ""
		wantCode(t, MustOpen(t).PutOffer(ctx, o), earshot.EINVALID)
	})
}

func TestDB_DeleteOffer(t *testing.T) {
	ctx := context.Background()
	t.Run("OK", func(t *testing.T) {
		db := MustOpen(t)
		must(t, db.PutOffer(ctx, earshot.Offer{ID: "o1"}))
		must(t, db.DeleteOffer(ctx, "o1"))
		must(t, db.DeleteOffer(ctx, "o1")) // again: no change
		if got, err := db.Offers(ctx); err != nil || got == nil || len(got) != 0 {
			t.Fatalf("Offers = %#v, %v; want an empty list", got, err)
		}
	})
	t.Run("ErrCanceled", func(t *testing.T) {
		if err := MustOpen(t).DeleteOffer(canceled(), "o1"); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestDB_Offers(t *testing.T) {
	t.Run("ErrCanceled", func(t *testing.T) {
		if _, err := MustOpen(t).Offers(canceled()); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v", err)
		}
	})
}
