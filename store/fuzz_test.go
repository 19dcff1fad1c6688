package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/earshot/earshot"
	"github.com/earshot/earshot/directory"
)

// FuzzImport imports two files and sets phone numbers through the API in
// between, each drawn from the input, and checks after every step that a
// failed write changed nothing and that the indexes agree with the users.
func FuzzImport(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5}, []byte{5, 4, 3, 2, 1, 0}, []byte{1, 3})
	f.Add([]byte{1, 1}, []byte{}, []byte{})
	f.Add([]byte{2, 6, 10}, []byte{10, 6, 2}, []byte{0, 2, 2, 0})
	f.Fuzz(func(t *testing.T, first, second, api []byte) {
		db, ctx := MustOpen(t), context.Background()
		numbers := []string{"", "+358401000001", "+358401000002", "+358401000003"}
		endpoints := []string{"", "PJSIP/1", "pjsip/1", "PJSIP/2"}
		file := func(spec []byte) *directory.File {
			f := &directory.File{Orgs: []earshot.Organization{{ID: "acme"}}}
			for i, b := range spec[:min(len(spec), 6)] {
				f.Users = append(f.Users, earshot.User{
					ID: fmt.Sprint("u", i), Org: "acme", Roles: []string{earshot.RoleAgent},
					PhoneNumber: numbers[b%4], Endpoint: endpoints[b/4%4],
				})
			}
			return f
		}
		check := func(step string, err error, before string) {
			t.Helper()
			if err != nil {
				if code := earshot.ErrorCode(err); code != earshot.ECONFLICT {
					t.Fatalf("%s: unexpected error %v", step, err)
				}
				if after := snapshot(t, db); after != before {
					t.Fatalf("%s failed and wrote:\n%s\nwas:\n%s", step, after, before)
				}
			}
			for _, n := range numbers[1:] {
				u, err := db.UserByPhone(ctx, n)
				if err == nil && u.PhoneNumber != n || err != nil && !errors.Is(err, earshot.ErrUserNotFound) {
					t.Fatalf("%s: UserByPhone(%s) = %+v, %v", step, n, u, err)
				}
			}
			users, err := db.Users("")
			must(t, err)
			for _, u := range users {
				if u.PhoneNumber != "" {
					if got, err := db.UserByPhone(ctx, u.PhoneNumber); err != nil || got.ID != u.ID {
						t.Fatalf("%s: %s has %s, which finds %+v, %v", step, u.ID, u.PhoneNumber, got, err)
					}
				}
				if u.Endpoint != "" {
					if got, err := db.AgentByEndpoint(ctx, u.Endpoint); err != nil || got.ID != u.ID {
						t.Fatalf("%s: %s has %s, which finds %+v, %v", step, u.ID, u.Endpoint, got, err)
					}
				}
			}
		}

		before := snapshot(t, db)
		_, err := db.ImportDirectory(ctx, file(first))
		check("first import", err, before)
		for i := 0; i+1 < len(api) && i < 8; i += 2 {
			before = snapshot(t, db)
			err := db.SetPhoneNumber(ctx, fmt.Sprint("u", api[i]%6), numbers[api[i+1]%4])
			if errors.Is(err, earshot.ErrUserNotFound) {
				continue
			}
			check("SetPhoneNumber", err, before)
		}
		before = snapshot(t, db)
		_, err = db.ImportDirectory(ctx, file(second))
		check("second import", err, before)
	})
}
