package embeddedpg

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5"
)

// The two database roles a Wijkbrug service uses, as in production (docs/security.md):
// migrations run as the owner of the schema; the service runs as an application role that
// owns nothing, so it cannot drop or alter tables, switch off the access log's append-only
// trigger, or delete and rewrite access-log entries (pgxdb.GrantApplication). The test kit's
// databases share OwnerRole and AppRole (CreateRoles); the databases PrepareDatabases makes
// (make run, the fault harness) each have their own pair, named as production names them
// (DatabaseRoles), so one service's role has no privileges in another's database.
const (
	OwnerRole = "wijkbrug_owner"
	AppRole   = "wijkbrug_app"
)

// DatabaseRoles are the owner and application roles of database db, as
// deploy/postgres/cluster.yaml names them (intake_owner, intake_app).
func DatabaseRoles(db string) (owner, app string) { return db + "_owner", db + "_app" }

// CreateRoles creates OwnerRole and AppRole (idempotent). Neither is a superuser, may create
// roles or databases, or bypasses row security.
func (c *Cluster) CreateRoles(ctx context.Context) error {
	return c.withAdmin(ctx, func(conn *pgx.Conn) error { return c.createRoles(ctx, conn, OwnerRole, AppRole) })
}

// loginRole is what a Wijkbrug role may do: log in, nothing of an administrator's.
const loginRole = "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"

// createRoles creates the login roles that are missing (ensureRole).
func (c *Cluster) createRoles(ctx context.Context, conn *pgx.Conn, roles ...string) error {
	for _, role := range roles {
		if err := c.ensureRole(ctx, conn, role, loginRole); err != nil {
			return err
		}
	}
	return nil
}

// HandToOwner makes OwnerRole the owner of database name, of its public schema and of every
// table, sequence and function in that schema (a template of the test kit).
func (c *Cluster) HandToOwner(ctx context.Context, name string) error {
	return c.handTo(ctx, name, OwnerRole)
}

// handTo makes role the owner of database name, of its public schema and of every table,
// sequence and function in that schema (a database created and migrated by the superuser or
// another role before, e.g. a kept development data directory). The database itself changes
// owner last, so a database owned by role has been handed over completely (PrepareDatabases
// relies on that).
func (c *Cluster) handTo(ctx context.Context, name, role string) error {
	owner := pgx.Identifier{role}.Sanitize()
	conn, err := c.adminConnect(ctx, name)
	if err != nil {
		return fmt.Errorf("embeddedpg: connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	rows, err := conn.Query(ctx, `
		SELECT format('ALTER TABLE %I.%I OWNER TO %I', n.nspname, c.relname, $1::text)
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm') AND pg_get_userbyid(c.relowner) <> $1
		UNION ALL
		SELECT format('ALTER SEQUENCE %I.%I OWNER TO %I', n.nspname, c.relname, $1::text)
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'public' AND c.relkind = 'S' AND pg_get_userbyid(c.relowner) <> $1
		  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype IN ('a', 'i'))
		UNION ALL
		SELECT format('ALTER FUNCTION %s OWNER TO %I', p.oid::regprocedure, $1::text)
		FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
		WHERE n.nspname = 'public' AND pg_get_userbyid(p.proowner) <> $1`, role)
	if err != nil {
		return fmt.Errorf("embeddedpg: %w", err)
	}
	stmts, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("embeddedpg: %w", err)
	}
	if role != OwnerRole {
		// An earlier release ran every service as the shared AppRole: it keeps no privileges in
		// a database that now has an application role of its own.
		var shared bool
		if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)`, AppRole).Scan(&shared); err != nil {
			return fmt.Errorf("embeddedpg: %w", err)
		}
		if shared {
			app := pgx.Identifier{AppRole}.Sanitize()
			for _, kind := range []string{"ALL TABLES IN SCHEMA", "ALL SEQUENCES IN SCHEMA", "ALL FUNCTIONS IN SCHEMA", "SCHEMA"} {
				stmts = append(stmts, "REVOKE ALL ON "+kind+" public FROM "+app)
			}
		}
	}
	stmts = append(stmts, "ALTER SCHEMA public OWNER TO "+owner, "ALTER DATABASE "+pgx.Identifier{name}.Sanitize()+" OWNER TO "+owner)
	for _, s := range stmts {
		if _, err := conn.Exec(ctx, s); err != nil {
			return fmt.Errorf("embeddedpg: %s: %w", s, err)
		}
	}
	return nil
}

// PrepareDatabases makes sure every named database exists with its own roles (DatabaseRoles)
// and belongs to its owner role (createRoles, createDatabase and handTo). It checks them all
// over one connection and creates or hands over only what is missing, the databases side by
// side: on this kind of machine a new PostgreSQL connection costs about 13 ms of CPU, so a
// restart with the data kept opens one connection here instead of four per database. On
// PostgreSQL 15 and later a new database is created with its owner and needs no hand-over (nor
// the connection to it that handTo opens); a database made before (by the superuser, or owned
// by the shared OwnerRole of an earlier release: a kept development data directory) is handed
// over.
func (c *Cluster) PrepareDatabases(ctx context.Context, names ...string) error {
	var owners map[string]string
	var version int
	err := c.withAdmin(ctx, func(conn *pgx.Conn) error {
		for _, name := range names {
			owner, app := DatabaseRoles(name)
			if err := c.createRoles(ctx, conn, owner, app); err != nil {
				return err
			}
		}
		if err := conn.QueryRow(ctx, `SELECT current_setting('server_version_num')::int`).Scan(&version); err != nil {
			return err
		}
		rows, err := conn.Query(ctx, `SELECT datname, pg_get_userbyid(datdba) FROM pg_database WHERE datname = ANY($1)`, names)
		if err != nil {
			return err
		}
		owners = map[string]string{}
		var name, owner string
		_, err = pgx.ForEachRow(rows, []any{&name, &owner}, func() error { owners[name] = owner; return nil })
		return err
	})
	if err != nil {
		return err
	}
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		role, _ := DatabaseRoles(name)
		owner, exists := owners[name]
		if exists && owner == role {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if !exists && version >= 150000 {
				// Created with its owner, its public schema belongs to pg_database_owner, that
				// is to the database's owner: nothing to hand over.
				created, err := c.createDatabase(ctx, name, true, role)
				if errs[i] = err; err != nil || created {
					return
				}
			} else if !exists {
				if _, errs[i] = c.createDatabase(ctx, name, false, ""); errs[i] != nil {
					return
				}
			}
			errs[i] = c.handTo(ctx, name, role)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
