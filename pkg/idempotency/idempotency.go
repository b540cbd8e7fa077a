// Package idempotency makes mutating RPCs safe to retry. The key, a hash of the request and
// the first answer are stored in the same transaction as the change: a repeat returns the
// first answer without doing anything, and the same key with a different request is refused.
// Keys are scoped per calling organisation and method, so partners cannot collide. The stored
// answer is sealed: answers carry BSNs and confidential free text, which the database holds
// only encrypted.
package idempotency

import (
	"bytes"
	"context"
	"crypto/sha256"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	"github.com/wijkbrug/wijkbrug/pkg/encrypted"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// MaxKeyLength bounds a key; UUIDs and ULIDs fit easily.
const MaxKeyLength = 128

// Store runs idempotent operations.
type Store struct {
	db     *pgxdb.DB
	sealer Sealer
}

// Sealer encrypts a stored answer and opens it again (bsn.Protector: the service's key for
// BSNs and confidential free text, with its previous keys).
type Sealer interface {
	Seal(plaintext, aad string) []byte
	Open(ciphertext []byte, aad string) (string, error)
}

// New returns a store on db (which must have the platform migrations) that seals the answers it
// stores with sealer.
func New(db *pgxdb.DB, sealer Sealer) *Store {
	if sealer == nil {
		panic("idempotency: a store needs a sealer: answers are never stored in plain form")
	}
	return &Store{db: db, sealer: sealer}
}

// answerAAD binds a sealed answer to its row, so that it cannot be replayed under another
// organisation's, method's or key's row.
func answerAAD(org, method, key string) string {
	return "idempotency_keys.response\x00" + org + "\x00" + method + "\x00" + key
}

// EncryptedColumns are the stored answers, for re-encryption after a key rotation (pkg/svc,
// `migrate`). Answers stored before they were sealed stay as they are until retention.
var EncryptedColumns = []encrypted.Column{{Table: "idempotency_keys", Column: "response", Where: "response_sealed",
	Key: []string{"org_oin", "method", "key"}, AAD: func(k []string) string { return answerAAD(k[0], k[1], k[2]) }}}

// Request is a request message with an idempotency_key field.
type Request interface {
	proto.Message
	GetIdempotencyKey() string
}

// unprintable is a character that does not show: a control or format character, a line or
// paragraph separator, or one Unicode lists as ignorable when displayed (a Hangul filler, a
// combining grapheme joiner, a variation selector).
func unprintable(r rune) bool {
	return unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp, unicode.Other_Default_Ignorable_Code_Point, unicode.Variation_Selector)
}

// Do runs fn once per key. fn runs in a transaction (in its ctx) together with the key row;
// when fn fails, nothing is stored and the key may be used again. The method is taken from
// the gRPC context (or "" outside gRPC); newResp makes an empty response for replays.
func Do[Resp proto.Message](ctx context.Context, s *Store, req Request, newResp func() Resp, fn func(ctx context.Context) (Resp, error)) (Resp, error) {
	var zero Resp
	key := req.GetIdempotencyKey()
	switch {
	case key == "":
		return zero, apperr.Invalid("idempotency_key", "required for every change, so that a retry cannot apply it twice")
	case len(key) > MaxKeyLength || !utf8.ValidString(key):
		return zero, apperr.Invalid("idempotency_key", "at most 128 bytes of UTF-8")
	case strings.TrimSpace(key) != key:
		// The Idempotency-Key header is trimmed (HTTP drops white space around a value); a
		// body's key that differs from its header form only by spaces, or is only spaces,
		// would be a second, invisible key.
		return zero, apperr.Invalid("idempotency_key", "must not begin or end with white space")
	case strings.IndexFunc(key, unprintable) >= 0:
		// Not in an HTTP header either; in a body it would be a key that looks like another.
		return zero, apperr.Invalid("idempotency_key", "must be printable: no control, format or invisible characters (a tab, a line break, a zero-width space)")
	}
	hash, err := requestHash(req)
	if err != nil {
		return zero, err
	}
	caller, _ := identity.From(ctx)
	method, _ := grpc.Method(ctx)
	var out Resp
	err = s.db.Tx(ctx, func(ctx context.Context) error {
		q := s.db.Q(ctx)
		// Claim the key. A concurrent request with the same key blocks here until the first
		// one commits (then we replay) or rolls back (then we proceed).
		tag, err := q.Exec(ctx, `INSERT INTO idempotency_keys (org_oin, method, key, request_hash) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
			caller.Org.OIN, method, key, hash)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			var storedHash, stored []byte
			var sealed bool
			if err := q.QueryRow(ctx, `SELECT request_hash, response, response_sealed FROM idempotency_keys WHERE org_oin = $1 AND method = $2 AND key = $3`,
				caller.Org.OIN, method, key).Scan(&storedHash, &stored, &sealed); err != nil {
				return err
			}
			if !bytes.Equal(storedHash, hash) {
				return apperr.Invalid("idempotency_key", "already used for a different request")
			}
			if sealed { // else written before answers were sealed (migration 00011)
				plain, err := s.sealer.Open(stored, answerAAD(caller.Org.OIN, method, key))
				if err != nil {
					return apperr.FailedPrecondition("the first answer to this idempotency_key cannot be read: it was sealed with an encryption key the service no longer has")
				}
				stored = []byte(plain)
			}
			resp := newResp()
			if err := proto.Unmarshal(stored, resp); err != nil {
				return err
			}
			out = resp
			return nil
		}
		resp, err := fn(ctx)
		if err != nil {
			return err
		}
		b, err := proto.MarshalOptions{Deterministic: true}.Marshal(resp)
		if err != nil {
			return err
		}
		// Sent with the commit (with the events and access-log entries): nothing reads it back
		// before then, and a concurrent retry waits on the key's row lock until we commit.
		if err := s.db.Defer(ctx, `UPDATE idempotency_keys SET response = $4, response_sealed = true WHERE org_oin = $1 AND method = $2 AND key = $3`,
			caller.Org.OIN, method, key, s.sealer.Seal(string(b), answerAAD(caller.Org.OIN, method, key))); err != nil {
			return err
		}
		out = resp
		return nil
	})
	if err != nil {
		return zero, err
	}
	return out, nil
}

// requestHash hashes the request without its idempotency key, deterministically.
func requestHash(req Request) ([]byte, error) {
	c := proto.Clone(req)
	fd := c.ProtoReflect().Descriptor().Fields().ByName(protoreflect.Name("idempotency_key"))
	if fd != nil {
		c.ProtoReflect().Clear(fd)
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(c)
	if err != nil {
		return nil, err
	}
	h := sha256.Sum256(b)
	return h[:], nil
}

// SetKey puts a key sent beside the request — REST's Idempotency-Key header, gRPC's
// idempotency-key metadata; source names it, where says where else the request carries its
// key — into the request's idempotency_key field, so that a service sees one key whichever
// way it came. A request without the field (a read, or a change that repeats safely) is
// refused rather than the key dropped without a word, and so is a field that holds another key.
func SetKey(m protoreflect.Message, key, source, where string) error {
	fd := m.Descriptor().Fields().ByName("idempotency_key")
	if fd == nil || fd.Kind() != protoreflect.StringKind || fd.IsList() {
		return apperr.Invalid("idempotency_key", "this request takes no idempotency key (it changes nothing, or repeats safely): leave "+source+" out")
	}
	switch cur := m.Get(fd).String(); {
	case cur == "":
		m.Set(fd, protoreflect.ValueOfString(key))
	case cur != key:
		return apperr.Invalid("idempotency_key", source+" and the request's idempotency_key"+where+" differ")
	}
	return nil
}
