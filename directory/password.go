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
		if checkBcrypt(hash) != nil {
			return false
		}
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

// UsableHash reports whether hash is one VerifyPassword checks: a bcrypt
// or argon2id hash within the ceilings below. Sign-in checks a dummy hash
// instead of any other, so that a user without a usable one takes as long
// to refuse as a wrong password.
func UsableHash(hash string) bool {
	switch {
	case strings.HasPrefix(hash, "$2"):
		return checkBcrypt(hash) == nil
	case strings.HasPrefix(hash, "$argon2id$"):
		_, err := parseArgon2id(hash)
		return err == nil
	}
	return false
}

// Ceilings on what one password check may cost. A hash sets the work of
// every sign-in as that user, including failed ones anyone can send, so a
// hash beyond these is refused when a file is read and never verified:
// bcrypt cost 14 is about a second of CPU, argon2id 256 MiB of memory.
// The usual settings (bcrypt 10–12; argon2id 19–64 MiB, t 2–3, p 1–4)
// are well within them.
const (
	MaxBcryptCost    = 14
	MaxArgon2Memory  = 256 << 10 // KiB
	MaxArgon2Time    = 16
	MaxArgon2Threads = 16
)

// checkBcrypt refuses a bcrypt hash that does not parse or costs more
// than MaxBcryptCost.
func checkBcrypt(hash string) error {
	cost, err := bcrypt.Cost([]byte(hash))
	if err != nil {
		return err
	}
	if cost > MaxBcryptCost {
		return fmt.Errorf("cost %d exceeds %d", cost, MaxBcryptCost)
	}
	return nil
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
	// mistyped parameter cannot exhaust memory or stall logins.
	if h.memory > MaxArgon2Memory || h.time > MaxArgon2Time || h.threads > MaxArgon2Threads {
		return h, fmt.Errorf("parameters %q exceed m=%d, t=%d or p=%d", parts[3], MaxArgon2Memory, MaxArgon2Time, MaxArgon2Threads)
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
