package httpapi

import (
	"fmt"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// However many valid tokens arrive, verifiedTokens remembers at most
// maxVerifiedTokens, and each of them still checks.
func TestVerifiedTokens_Bounded(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	now := time.Unix(1_800_000_000, 0)
	v := newVerifiedTokens(key, func() time.Time { return now })
	for i := range maxVerifiedTokens + 10 {
		tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims{RegisteredClaims: jwt.RegisteredClaims{
			Issuer: tokenIssuer, Subject: fmt.Sprint("user", i), IssuedAt: jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour)),
		}}).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		for range 2 { // checked, then remembered
			if cl, err := v.check(tok); err != nil || cl.Subject != fmt.Sprint("user", i) {
				t.Fatalf("token %d: %+v, %v", i, cl, err)
			}
		}
		if n := len(v.claims); n > maxVerifiedTokens {
			t.Fatalf("%d tokens remembered, at most %d allowed", n, maxVerifiedTokens)
		}
	}
}
