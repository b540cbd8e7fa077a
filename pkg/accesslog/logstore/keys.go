package logstore

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"hash"
	"strconv"
	"strings"
)

// Keys are the HMAC keys of the access-log chain and its checkpoints, by key id. The current
// key seals new entries and signs checkpoints; previous keys stay to verify what they sealed,
// so a rotation (a new key under a new id) never makes old entries unverifiable. The keys
// live outside the database: someone with only database access can edit entries but cannot
// recompute their MACs.
type Keys struct {
	current byte
	keys    map[byte][]byte
}

// NewKeys returns a key ring with current as key id currentID (1-255) and the previous keys.
func NewKeys(currentID int, current []byte, previous map[byte][]byte) (*Keys, error) {
	if currentID < 1 || currentID > 255 {
		return nil, fmt.Errorf("access-log key id %d: want 1-255", currentID)
	}
	k := &Keys{current: byte(currentID), keys: map[byte][]byte{}}
	for id, key := range previous {
		if len(key) < 32 {
			return nil, fmt.Errorf("access-log key %d: want at least 32 bytes", id)
		}
		k.keys[id] = key
	}
	if len(current) < 32 {
		return nil, fmt.Errorf("access-log key: want at least 32 bytes")
	}
	k.keys[byte(currentID)] = current
	return k, nil
}

// ParseKeys reads the configuration form: the current key in base64, its id, and previous
// keys as "id:base64,id:base64".
func ParseKeys(current string, currentID int, previous string) (*Keys, error) {
	cur, err := base64.StdEncoding.DecodeString(strings.TrimSpace(current))
	if err != nil || current == "" {
		return nil, fmt.Errorf("access-log key: want base64 of at least 32 bytes")
	}
	prev := map[byte][]byte{}
	for _, item := range strings.Split(previous, ",") {
		if item = strings.TrimSpace(item); item == "" {
			continue
		}
		idText, b64, ok := strings.Cut(item, ":")
		id, err := strconv.Atoi(idText)
		if !ok || err != nil || id < 1 || id > 255 {
			return nil, fmt.Errorf("previous access-log keys: want id:base64 with id 1-255")
		}
		key, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			return nil, fmt.Errorf("previous access-log key %d: not base64", id)
		}
		prev[byte(id)] = key
	}
	return NewKeys(currentID, cur, prev)
}

// CurrentID is the id of the key that seals now.
func (k *Keys) CurrentID() byte { return k.current }

// mac returns an HMAC under key id, or false when the ring does not hold that key.
func (k *Keys) mac(id byte) (hash.Hash, bool) {
	key, ok := k.keys[id]
	if !ok {
		return nil, false
	}
	return hmac.New(sha256.New, key), true
}
