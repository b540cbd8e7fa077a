package postgres

import "github.com/wijkbrug/wijkbrug/pkg/encrypted"

// EncryptedColumns are case direction's sealed columns, for re-encryption after a key
// rotation (`case-direction migrate`, pkg/encrypted).
var EncryptedColumns = []encrypted.Column{
	{Table: "case_conferences", Column: "decisions", Array: true, AAD: encrypted.Constant(decisionsAAD)},
}
