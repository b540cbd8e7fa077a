package logstore

import (
	"context"
	"time"

	"github.com/wijkbrug/wijkbrug/pkg/encrypted"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/pkg/paging"
)

// Grant is an emergency grant ("break the glass"): one professional may read one record for
// a short time, with a reason the privacy officer reviews.
type Grant struct {
	ID, ObjectType, ObjectID string
	OrgOIN, User, Role       string
	// SealedReason is the reason, sealed by the caller (ReasonAAD); Reason is a reason an
	// earlier release stored in clear, until the re-encryption job seals it.
	SealedReason         []byte
	Reason               string
	GrantedAt, ExpiresAt time.Time
}

// ReasonAAD binds a grant's sealed reason to the grant.
func ReasonAAD(id string) string { return "emergency_grants.reason:" + id }

// EncryptedColumns are the grants' reasons, for re-encryption after a key rotation and for
// sealing the reasons an earlier release stored in clear (pkg/svc, `migrate`).
var EncryptedColumns = []encrypted.Column{{Table: "emergency_grants", Column: "reason_enc", Plain: "reason",
	Key: []string{"id"}, AAD: func(k []string) string { return ReasonAAD(k[0]) }}}

// EmergencyGrant reports whether the caller (organisation and user) holds an active grant
// for the record (accesslog.Recorder).
func (l *Logger) EmergencyGrant(ctx context.Context, objectType, objectID string) (bool, error) {
	c, ok := identity.From(ctx)
	if !ok || c.Org.Type == identity.OrgService {
		return false, nil
	}
	var n int
	err := l.db.Q(ctx).QueryRow(ctx, `
		SELECT count(*) FROM emergency_grants
		WHERE object_type = $1 AND object_id = $2 AND org_oin = $3 AND user_id = $4 AND granted_at <= now() AND expires_at > now()`,
		objectType, objectID, c.Org.OIN, c.User).Scan(&n)
	return n > 0, err
}

// AddGrant stores g, in the transaction of ctx when there is one.
func (l *Logger) AddGrant(ctx context.Context, g Grant) error {
	_, err := l.db.Q(ctx).Exec(ctx, `
		INSERT INTO emergency_grants (id, object_type, object_id, org_oin, user_id, role, reason, reason_enc, granted_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		g.ID, g.ObjectType, g.ObjectID, g.OrgOIN, g.User, g.Role, g.Reason, g.SealedReason, g.GrantedAt, g.ExpiresAt)
	return err
}

// Grants lists up to limit grants made since, newest first (granted_at, id descending), after
// the position of the last grant of the previous page (nil: from the newest).
func (l *Logger) Grants(ctx context.Context, since time.Time, after *paging.At, limit int) ([]Grant, error) {
	args := []any{since, limit}
	cursor := ""
	if after != nil {
		args = append(args, after.Time, after.ID)
		cursor = ` AND (granted_at, id) < ($3, $4::uuid)`
	}
	rows, err := l.db.Pool.Query(ctx, `
		SELECT id::text, object_type, object_id, org_oin, user_id, role, reason, reason_enc, granted_at, expires_at
		FROM emergency_grants WHERE granted_at >= $1`+cursor+` ORDER BY granted_at DESC, id DESC LIMIT $2`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Grant
	for rows.Next() {
		var g Grant
		if err := rows.Scan(&g.ID, &g.ObjectType, &g.ObjectID, &g.OrgOIN, &g.User, &g.Role, &g.Reason, &g.SealedReason, &g.GrantedAt, &g.ExpiresAt); err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, rows.Err()
}
