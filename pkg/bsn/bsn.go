// Package bsn validates and protects burgerservicenummers. A BSN is stored only encrypted
// (AES-256-GCM), found through a keyed HMAC blind index (an unkeyed hash of a 9-digit number
// is reversed by brute force in seconds), and shown to logs and other services only as a
// keyed pseudonym. It never appears in events, logs, traces or error messages.
package bsn

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
)

// Validate checks the form and the 11-proef: nine digits d1..d9 with
// 9·d1 + 8·d2 + … + 2·d8 − 1·d9 divisible by 11; all zeros is refused.
func Validate(s string) error {
	if len(s) != 9 {
		return errors.New("must be 9 digits")
	}
	sum := 0
	for i := 0; i < 9; i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return errors.New("must be 9 digits")
		}
		w := 9 - i
		if i == 8 {
			w = -1
		}
		sum += w * int(c-'0')
	}
	if s == "000000000" {
		return errors.New("all zeros is not a BSN")
	}
	if sum%11 != 0 {
		return errors.New("fails the 11-proef")
	}
	return nil
}

// Keys are the three independent secrets. Separate keys keep the index and pseudonyms from
// being usable to decrypt, and let each be rotated on its own.
type Keys struct {
	// Encryption is 32 bytes for AES-256-GCM.
	Encryption []byte
	// Index is the HMAC key of the blind index (lookup within a service).
	Index []byte
	// Pseudonym is the HMAC key of pseudonyms shared by all services (access log, events).
	Pseudonym []byte
}

// ParseKey decodes a base64 key of at least 32 bytes.
func ParseKey(b64 string) ([]byte, error) {
	k, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, fmt.Errorf("key is not base64")
	}
	if len(k) < 32 {
		return nil, fmt.Errorf("key must be at least 32 bytes")
	}
	return k, nil
}

// Protector encrypts, indexes and pseudonymises BSNs (and seals other confidential text).
type Protector struct {
	aead      cipher.AEAD
	indexKey  []byte
	pseudoKey []byte
}

// keyVersion prefixes ciphertexts so keys can be rotated later without losing old data.
const keyVersion byte = 1

// NewProtector builds a protector.
func NewProtector(k Keys) (*Protector, error) {
	if len(k.Encryption) != 32 || len(k.Index) < 32 || len(k.Pseudonym) < 32 {
		return nil, errors.New("bsn: encryption key must be 32 bytes, index and pseudonym keys at least 32")
	}
	block, err := aes.NewCipher(k.Encryption)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Protector{aead: aead, indexKey: k.Index, pseudoKey: k.Pseudonym}, nil
}

// Seal encrypts plaintext (a BSN or confidential free text) with a fresh nonce; aad binds the
// ciphertext to its place (e.g. "resident.bsn") so it cannot be moved to another column.
func (p *Protector) Seal(plaintext, aad string) []byte {
	nonce := make([]byte, p.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	out := append([]byte{keyVersion}, nonce...)
	return p.aead.Seal(out, nonce, []byte(plaintext), []byte(aad))
}

// Open decrypts what Seal produced.
func (p *Protector) Open(ciphertext []byte, aad string) (string, error) {
	ns := p.aead.NonceSize()
	if len(ciphertext) < 1+ns || ciphertext[0] != keyVersion {
		return "", errors.New("bsn: unknown ciphertext format")
	}
	pt, err := p.aead.Open(nil, ciphertext[1:1+ns], ciphertext[1+ns:], []byte(aad))
	if err != nil {
		return "", errors.New("bsn: cannot decrypt")
	}
	return string(pt), nil
}

// Index returns the blind index of a BSN for equality lookups.
func (p *Protector) Index(bsn string) []byte {
	m := hmac.New(sha256.New, p.indexKey)
	m.Write([]byte(bsn))
	return m.Sum(nil)
}

// Pseudonym returns a stable pseudonym of a BSN that is the same in every service (same key),
// for the access log and for correlating without the BSN.
func (p *Protector) Pseudonym(bsn string) string {
	m := hmac.New(sha256.New, p.pseudoKey)
	m.Write([]byte("pseudonym:" + bsn))
	return hex.EncodeToString(m.Sum(nil)[:16])
}
