package httpapi

import (
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// verifiedTokens checks sign-in tokens and remembers the claims of those
// whose signature it checked, keyed by the whole token. Parsing a token
// (base64, two JSON decodes, an HMAC) was the largest cost of a request
// once the store's reads were cached, and an app sends the same token
// with every request of the day.
//
// A remembered token cannot go stale: its bytes fix its claims, and the
// key that signed it does not change while the server runs. What can
// change is checked on every request all the same — the expiry against
// the clock here, the sign-out, the token version and the user by
// principalFor. Only tokens with a valid signature are remembered, so
// garbage cannot fill the map; it is emptied when full.
type verifiedTokens struct {
	key       []byte
	parser    *jwt.Parser
	validator *jwt.Validator

	mu     sync.RWMutex
	claims map[string]*claims
}

// maxVerifiedTokens bounds the tokens remembered (a few hundred bytes
// each): far more than the supervisors signed in at once.
const maxVerifiedTokens = 4096

func newVerifiedTokens(key []byte, now func() time.Time) *verifiedTokens {
	valid := []jwt.ParserOption{jwt.WithIssuer(tokenIssuer), jwt.WithExpirationRequired(), jwt.WithIssuedAt(), jwt.WithTimeFunc(now)}
	return &verifiedTokens{
		key:       key,
		parser:    jwt.NewParser(append(valid, jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}))...),
		validator: jwt.NewValidator(valid...),
		claims:    map[string]*claims{},
	}
}

// check returns the claims of a token signed with the key, issued by
// Earshot, and neither expired nor issued in the future. The claims are
// shared with other requests bearing the token: read them, never change
// them.
func (v *verifiedTokens) check(raw string) (*claims, error) {
	v.mu.RLock()
	cl, ok := v.claims[raw]
	v.mu.RUnlock()
	if ok {
		if err := v.validator.Validate(cl); err != nil {
			return nil, err
		}
		return cl, nil
	}
	cl = &claims{}
	if _, err := v.parser.ParseWithClaims(raw, cl, func(*jwt.Token) (any, error) { return v.key, nil }); err != nil {
		return nil, err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.claims) >= maxVerifiedTokens {
		clear(v.claims)
	}
	v.claims[raw] = cl
	return cl, nil
}
