package directory

import (
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// VerifyPassword reports whether password matches hash, a bcrypt or
// argon2id hash as the directory file accepts them (User.PasswordHash). An
// empty or unknown hash matches nothing, so a user without a password
// cannot sign in.
func VerifyPassword(hash, password string) bool {
	switch {
	case strings.HasPrefix(hash, "$2"):
		return bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil
	case strings.HasPrefix(hash, "$argon2id$"):
		h, err := parseArgon2id(hash)
		if err != nil {
			return false
		}
		got := argon2.IDKey([]byte(password), h.salt, h.time, h.memory, h.threads, uint32(len(h.key)))
		return subtle.ConstantTimeCompare(got, h.key) == 1
	}
	return false
}

// argon2idHash is a decoded "$argon2id$v=19$m=65536,t=3,p=4$salt$key",
// the PHC string format most tools write.
type argon2idHash struct {
	memory, time uint32
	threads      uint8
	salt, key    []byte
}

func parseArgon2id(s string) (argon2idHash, error) {
	var h argon2idHash
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return h, errors.New(`want "$argon2id$v=19$m=…,t=…,p=…$salt$key"`)
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return h, fmt.Errorf("version %q is not v=%d", parts[2], argon2.Version)
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &h.memory, &h.time, &h.threads); err != nil {
		return h, fmt.Errorf("parameters %q are not m=…,t=…,p=…", parts[3])
	}
	if h.memory == 0 || h.time == 0 || h.threads == 0 {
		return h, fmt.Errorf("parameters %q must all be positive", parts[3])
	}
	// A hash from the file sets what each sign-in costs; bound it so a
	// mistyped parameter cannot exhaust memory (1 GiB) or stall logins.
	if h.memory > 1<<20 || h.time > 64 {
		return h, fmt.Errorf("parameters %q exceed m=%d or t=64", parts[3], 1<<20)
	}
	var err error
	if h.salt, err = base64.RawStdEncoding.DecodeString(parts[4]); err != nil || len(h.salt) == 0 {
		return h, errors.New("salt is not unpadded base64")
	}
	if h.key, err = base64.RawStdEncoding.DecodeString(parts[5]); err != nil || len(h.key) < 16 {
		return h, errors.New("key is not unpadded base64 of at least 16 bytes")
	}
	return h, nil
}
