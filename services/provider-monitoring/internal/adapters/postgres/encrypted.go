package postgres

import "github.com/wijkbrug/wijkbrug/pkg/encrypted"

// EncryptedColumns are provider monitoring's sealed columns, each bound to its row and field,
// for re-encryption after a key rotation and for sealing a request's reasons an earlier
// release stored in clear (`provider-monitoring migrate`, pkg/encrypted).
var EncryptedColumns = []encrypted.Column{
	decisionText("rejection_grounds"), decisionText("motivation_text"), decisionText("letter"), decisionText("addressee"),
	{Table: "allocation_requests", Column: "change_reason_enc", Plain: "change_reason_text", Key: []string{"id"},
		AAD: func(k []string) string { return RequestTextAAD(k[0], "change_reason_text") }},
	{Table: "allocation_requests", Column: "refusal_reason_enc", Plain: "refusal_reason", Key: []string{"id"},
		AAD: func(k []string) string { return RequestTextAAD(k[0], "refusal_reason") }},
}

// decisionText is a decision's sealed text column (Decisions.sealed).
func decisionText(field string) encrypted.Column {
	return encrypted.Column{Table: "decisions", Column: field, Key: []string{"id"},
		AAD: func(k []string) string { return decisionAAD(k[0], field) }}
}
