package postgres

import "github.com/wijkbrug/wijkbrug/pkg/encrypted"

// EncryptedColumns are intake's sealed columns, each bound to its column, for re-encryption
// after a key rotation (`intake migrate`, pkg/encrypted).
var EncryptedColumns = []encrypted.Column{
	{Table: "residents", Column: "bsn_enc", AAD: encrypted.Constant(aadBSN)},
	{Table: "residents", Column: "name_enc", AAD: encrypted.Constant(aadName)},
	{Table: "residents", Column: "birth_date_enc", AAD: encrypted.Constant(aadBirthDate)},
	{Table: "residents", Column: "address_enc", AAD: encrypted.Constant(aadResidentAddress)},
	{Table: "households", Column: "address_enc", AAD: encrypted.Constant(aadHouseholdAddress)},
	{Table: "intakes", Column: "question_enc", AAD: encrypted.Constant(aadQuestion)},
	{Table: "clarifications", Column: "summary_enc", AAD: encrypted.Constant(aadClarification)},
}
