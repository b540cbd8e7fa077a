package bsn

import (
	"bytes"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	cases := map[string]bool{
		"111222333": true, "123456782": true,
		"123456789": false, "000000000": false, "12345678": false, "1234567890": false, "12345678a": false, "": false,
		" 11122233": false,
	}
	// 999999990: 9·(9+8+7+6+5+4+3+2) − 0 = 396, divisible by 11: a valid 11-proef number.
	cases["999999990"] = true
	for s, want := range cases {
		if got := Validate(s) == nil; got != want {
			t.Errorf("Validate(%q) valid=%v, want %v", s, got, want)
		}
	}
}

func FuzzValidate(f *testing.F) {
	for _, s := range []string{"111222333", "000000000", "12345678x", "", "99999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := Validate(s)
		if err == nil {
			if len(s) != 9 || s == "000000000" {
				t.Fatalf("accepted %q", s)
			}
			sum := 0
			for i := 0; i < 8; i++ {
				sum += (9 - i) * int(s[i]-'0')
			}
			if (sum-int(s[8]-'0'))%11 != 0 {
				t.Fatalf("accepted %q failing the 11-proef", s)
			}
		} else if len(s) >= 6 && strings.Contains(err.Error(), s) {
			t.Fatalf("error repeats the input: %v", err)
		}
	})
}

func newProtector(t *testing.T) *Protector {
	t.Helper()
	p, err := NewProtector(Keys{Encryption: bytes.Repeat([]byte{1}, 32), Index: bytes.Repeat([]byte{2}, 32), Pseudonym: bytes.Repeat([]byte{3}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestProtector(t *testing.T) {
	p := newProtector(t)
	c1, c2 := p.Seal("111222333", "a"), p.Seal("111222333", "a")
	if bytes.Equal(c1, c2) {
		t.Fatal("ciphertexts must differ (fresh nonce)")
	}
	if bytes.Contains(c1, []byte("111222333")) {
		t.Fatal("plaintext visible in ciphertext")
	}
	if got, err := p.Open(c1, "a"); err != nil || got != "111222333" {
		t.Fatalf("Open: %q %v", got, err)
	}
	if _, err := p.Open(c1, "b"); err == nil {
		t.Fatal("a ciphertext moved to another place must not decrypt")
	}
	c1[len(c1)-1] ^= 1
	if _, err := p.Open(c1, "a"); err == nil {
		t.Fatal("a tampered ciphertext must not decrypt")
	}
	if !bytes.Equal(p.Index("111222333"), p.Index("111222333")) || bytes.Equal(p.Index("111222333"), p.Index("123456782")) {
		t.Fatal("index must be deterministic and distinguish BSNs")
	}
	if ps := p.Pseudonym("111222333"); len(ps) != 32 || strings.Contains(ps, "111222333") {
		t.Fatalf("pseudonym %q", ps)
	}
	other, _ := NewProtector(Keys{Encryption: bytes.Repeat([]byte{1}, 32), Index: bytes.Repeat([]byte{9}, 32), Pseudonym: bytes.Repeat([]byte{9}, 32)})
	if bytes.Equal(p.Index("111222333"), other.Index("111222333")) {
		t.Fatal("the index must depend on the key")
	}
	if _, err := NewProtector(Keys{Encryption: []byte("short")}); err == nil {
		t.Fatal("short keys must be refused")
	}
}

func FuzzOpen(f *testing.F) {
	p, _ := NewProtector(Keys{Encryption: bytes.Repeat([]byte{1}, 32), Index: bytes.Repeat([]byte{2}, 32), Pseudonym: bytes.Repeat([]byte{3}, 32)})
	f.Add(p.Seal("x", "a"))
	f.Add([]byte{})
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = p.Open(b, "a") // must never panic
	})
}

func TestKeyRotation(t *testing.T) {
	old, _ := NewProtector(Keys{Encryption: bytes.Repeat([]byte{1}, 32), Index: bytes.Repeat([]byte{2}, 32), Pseudonym: bytes.Repeat([]byte{3}, 32)})
	c1 := old.Seal("111222333", "a")
	rotated, err := NewProtector(Keys{Encryption: bytes.Repeat([]byte{7}, 32), EncryptionKeyID: 2,
		Previous: map[byte][]byte{1: bytes.Repeat([]byte{1}, 32)}, Index: bytes.Repeat([]byte{2}, 32), Pseudonym: bytes.Repeat([]byte{3}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := rotated.Open(c1, "a"); err != nil || got != "111222333" {
		t.Fatalf("old data must stay readable after rotation: %q %v", got, err)
	}
	if !rotated.NeedsRewrap(c1) {
		t.Fatal("old ciphertext must be flagged for rewrap")
	}
	c2, err := rotated.Rewrap(c1, "a")
	if err != nil || c2[0] != 2 || rotated.NeedsRewrap(c2) {
		t.Fatalf("rewrap: %v %v", c2, err)
	}
	if _, err := old.Open(c2, "a"); err == nil {
		t.Fatal("the old protector cannot know key 2")
	}
}
