package postgres

import (
	"github.com/wijkbrug/wijkbrug/pkg/encrypted"
	"github.com/wijkbrug/wijkbrug/pkg/feed"
)

// EncryptedColumns are referral's sealed columns, each bound to its column, and the webhooks'
// signing secrets of the feed manager it serves, for re-encryption after a key rotation
// (`referral migrate`, pkg/encrypted).
var EncryptedColumns = append([]encrypted.Column{
	{Table: "signals", Column: "resident_bsn_enc", AAD: encrypted.Constant(aadBSN)},
	{Table: "signals", Column: "description_enc", AAD: encrypted.Constant(aadDescription)},
	{Table: "signals", Column: "creditor_reference_enc", AAD: encrypted.Constant(aadCreditorReference)},
	{Table: "consents", Column: "resident_bsn_enc", AAD: encrypted.Constant(aadConsentBSN)},
	{Table: "referrals", Column: "resident_bsn_enc", AAD: encrypted.Constant(aadReferralBSN)},
	{Table: "referrals", Column: "question_enc", AAD: encrypted.Constant(aadQuestion)},
	{Table: "referrals", Column: "note_enc", AAD: encrypted.Constant(aadNote)},
}, feed.EncryptedColumns...)
