package directory_test

import (
	"strings"
	"testing"

	"github.com/earshot/earshot/directory"
)

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

func TestVerifyPassword(t *testing.T) {
	const (
		bcryptHash = "$2a$04$N7IECl.dSoQVto.jerqaN.46rzGLMp0cLL4KF7BBxB4GF58csVjr6"
		argonHash  = "$argon2id$v=19$m=8192,t=1,p=1$ZWFyc2hvdC1kZW1vLXNhbHQ$bIV5s0czCyu4LdUKplJgpgxaY0DiuGjBCrZ8IHXoSJc"
	)
	for _, tt := range []struct {
		name, hash, password string
		want                 bool
	}{
		{"Bcrypt", bcryptHash, "change-me", true},
		{"Bcrypt2y", "$2y$" + bcryptHash[4:], "change-me", true},
		{"BcryptWrong", bcryptHash, "change-you", false},
		{"Argon2id", argonHash, "change-me", true},
		{"Argon2idWrong", argonHash, "change-you", false},
		{"Argon2idBroken", "$argon2id$v=19$m=8192,t=1,p=1$!!$!!", "change-me", false},
		{"Empty", "", "", false},
		{"Plain", "change-me", "change-me", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := directory.VerifyPassword(tt.hash, tt.password); got != tt.want {
				t.Errorf("VerifyPassword(%q, %q) = %v, want %v", tt.hash, tt.password, got, tt.want)
			}
		})
	}
}

// TestPasswordCeilings: a hash that would make every sign-in as the user
// too dear is refused when read and never verified.
func TestPasswordCeilings(t *testing.T) {
	const salt, key = "ZWFyc2hvdC1kZW1vLXNhbHQ", "bIV5s0czCyu4LdUKplJgpgxaY0DiuGjBCrZ8IHXoSJc"
	argon := func(params string) string { return "$argon2id$v=19$" + params + "$" + salt + "$" + key }
	for _, tt := range []struct {
		name, hash string
		usable     bool
	}{
		{"Argon2idUsual", argon("m=65536,t=3,p=4"), true},
		{"Argon2idAtCeiling", argon("m=262144,t=16,p=16"), true},
		{"Argon2id1GiB", argon("m=1048576,t=1,p=1"), false},
		{"Argon2idMemory", argon("m=262145,t=1,p=1"), false},
		{"Argon2idTime", argon("m=8192,t=17,p=1"), false},
		{"Argon2idThreads", argon("m=8192,t=1,p=17"), false},
		{"BcryptAtCeiling", "$2a$14$N7IECl.dSoQVto.jerqaN.46rzGLMp0cLL4KF7BBxB4GF58csVjr6", true},
		{"BcryptCost15", "$2a$15$N7IECl.dSoQVto.jerqaN.46rzGLMp0cLL4KF7BBxB4GF58csVjr6", false},
		{"BcryptCost31", "$2a$31$N7IECl.dSoQVto.jerqaN.46rzGLMp0cLL4KF7BBxB4GF58csVjr6", false},
		{"Unknown", "$1$abc$def", false},
		{"Empty", "", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := directory.UsableHash(tt.hash); got != tt.usable {
				t.Fatalf("UsableHash = %v, want %v", got, tt.usable)
			}
			if !tt.usable && directory.VerifyPassword(tt.hash, "change-me") {
				t.Fatal("an unusable hash verified")
			}
			yaml := "organizations: [{id: acme, name: Acme}]\nusers:\n  - {id: sara, org: acme, name: Sara, roles: [supervisor], password_hash: '" + tt.hash + "'}\n"
			_, err := directory.Parse(strings.NewReader(yaml), "FI")
			if tt.hash != "" && (err == nil) != tt.usable {
				t.Fatalf("Parse: err = %v, want an error: %v", err, !tt.usable)
			}
		})
	}
}
