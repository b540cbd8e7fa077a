// Package platformdb holds the tables every service needs for the platform facilities:
// the transactional outbox, processed events of idempotent consumers, idempotency keys of
// mutating RPCs and the access log. Each service applies this set before its own.
package platformdb

import (
	"embed"
	"io/fs"

	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
)

//go:embed migrations/*.sql
var files embed.FS

// Migrations returns the platform migration set.
func Migrations() pgxdb.MigrationSet {
	sub, err := fs.Sub(files, "migrations")
	if err != nil {
		panic(err) // embedded at build time: cannot fail
	}
	return pgxdb.MigrationSet{Name: "platform", FS: sub}
}
