package testkit

import (
	"context"
	"net/url"
	"sync"

	"github.com/wijkbrug/wijkbrug/pkg/embeddedpg"
)

var (
	rolesOnce sync.Once
	rolesErr  error
)

// ownedTemplate prepares a new template database the way production runs: it belongs to the
// owner role (embeddedpg.OwnerRole), which the migrations run as; services then connect as
// the application role (AppDSN). It returns the owner's DSN.
func ownedTemplate(ctx context.Context, c *embeddedpg.Cluster, dbName string) (string, error) {
	rolesOnce.Do(func() { rolesErr = c.CreateRoles(ctx) })
	if rolesErr != nil {
		return "", rolesErr
	}
	if err := c.HandToOwner(ctx, dbName); err != nil {
		return "", err
	}
	return c.DSNAs(embeddedpg.OwnerRole, dbName), nil
}

// AppDSN turns a DSN of NewDatabase into the same database as the application role, which
// has only the privileges pgxdb.GrantApplication gave it (svctest runs services this way).
func AppDSN(dsn string) string { return withUser(dsn, embeddedpg.AppRole) }

// OwnerDSN is the same database as the owner role (the one migrations run as).
func OwnerDSN(dsn string) string { return withUser(dsn, embeddedpg.OwnerRole) }

// AdminDSN is the same database as the cluster's superuser (a test playing the database
// administrator).
func AdminDSN(dsn string) string { return withUser(dsn, "postgres") }

func withUser(dsn, user string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return dsn
	}
	u.User = url.User(user)
	return u.String()
}
