// Package migrations embeds the case-direction service's schema.
package migrations

import (
	"embed"
	"io/fs"

	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
)

//go:embed *.sql
var files embed.FS

// Set returns the service's migration set.
func Set() pgxdb.MigrationSet {
	var f fs.FS = files
	return pgxdb.MigrationSet{Name: "casedirection", FS: f}
}
