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
