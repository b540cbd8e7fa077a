package bsn

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync"
	"testing"
)

// Blind indexes and pseudonyms are stored (lookups, every service's access log): reused HMACs
// must give exactly what a fresh HMAC of the same input gives, from many goroutines at once
// and whatever was hashed before.
func TestReusedHMACsGiveTheStoredValues(t *testing.T) {
	indexKey, pseudoKey := bytes.Repeat([]byte{2}, 32), bytes.Repeat([]byte{3}, 32)
	p, err := NewProtector(Keys{Encryption: bytes.Repeat([]byte{1}, 32), Index: indexKey, Pseudonym: pseudoKey})
	if err != nil {
		t.Fatal(err)
	}
	fresh := func(key []byte, s string) []byte {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(s))
		return m.Sum(nil)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				b := fmt.Sprintf("%09d", (g*500+i)*7919%1000000000)
				if got, want := p.Index(b), fresh(indexKey, b); !bytes.Equal(got, want) {
					errs <- fmt.Errorf("Index(%s) = %x, want %x", b, got, want)
					return
				}
				if got, want := p.Pseudonym(b), hex.EncodeToString(fresh(pseudoKey, "pseudonym:"+b)[:16]); got != want {
					errs <- fmt.Errorf("Pseudonym(%s) = %s, want %s", b, got, want)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func BenchmarkPseudonym(b *testing.B) {
	p, err := NewProtector(Keys{Encryption: make([]byte, 32), Index: make([]byte, 32), Pseudonym: make([]byte, 32)})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		p.Pseudonym("123456782")
	}
}
