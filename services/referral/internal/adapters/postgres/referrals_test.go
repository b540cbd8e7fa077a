package postgres

import (
	"context"
	"testing"
)

// Referrals written without the sent column, as the previous release's pods write them during
// a rolling update, are marked sent by their status (referral migration 00007's trigger): a
// referral stored as sent, and a draft sent later, reach their recipient; a draft, and a draft
// cancelled unsent, do not.
func TestReferralsSentByThePreviousReleaseAreMarkedSent(t *testing.T) {
	ctx := context.Background()
	conn, _ := signalsDB(t)
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := conn.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	exec(`INSERT INTO provisions (id, organisation_oin, name, kind, status, municipality_code, maintainer_oin, updated_at)
		VALUES ('00000000-0000-0000-0000-0000000000aa', 'b', 'p', 'COMMUNITY', 'ACTIVE', 'GM0363', 'x', now())`)
	insert := func(id, status string) {
		t.Helper()
		exec(`INSERT INTO referrals (id, status, referrer_oin, referrer_user, recipient_oin, provision_id, case_id, resident_bsn_enc,
			resident_bsn_index, municipality_code, question_enc, data_categories, legal_basis, priority, accept_by, created_at, updated_at)
			VALUES ($1, $2, 'a', 'u', 'b', '00000000-0000-0000-0000-0000000000aa', gen_random_uuid(), '\x00', '\x00', 'GM0363', '\x00',
			'{}', 'WMO', 'ROUTINE', now(), now(), now())`, id, status)
	}
	const stored, draft, sentLater, cancelled = "00000000-0000-0000-0000-000000000001", "00000000-0000-0000-0000-000000000002",
		"00000000-0000-0000-0000-000000000003", "00000000-0000-0000-0000-000000000004"
	insert(stored, "SENT")
	insert(draft, "DRAFT")
	insert(sentLater, "DRAFT")
	insert(cancelled, "DRAFT")
	exec(`UPDATE referrals SET status = 'SENT' WHERE id = $1`, sentLater)
	exec(`UPDATE referrals SET status = 'CANCELLED' WHERE id = $1`, cancelled)
	exec(`UPDATE referrals SET status = 'CANCELLED' WHERE id = $1`, stored) // sent, then cancelled: stays sent
	for id, want := range map[string]bool{stored: true, draft: false, sentLater: true, cancelled: false} {
		var sent bool
		if err := conn.QueryRow(ctx, `SELECT sent FROM referrals WHERE id = $1`, id).Scan(&sent); err != nil {
			t.Fatal(err)
		}
		if sent != want {
			t.Errorf("referral %s: sent %v, want %v", id, sent, want)
		}
	}
}
