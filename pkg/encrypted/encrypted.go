// Package encrypted keeps a service's encrypted columns under its current encryption key. A
// value sealed by bsn.Protector starts with the id of the key that sealed it; after a key
// rotation Reseal re-encrypts every value under a retired key with the current one, so the
// retired key can be dropped, and seals text that an earlier release stored in clear in a
// column since sealed. `<service> migrate` runs it as the database owner (pkg/svc).
//
// Ours rather than a library's: which columns hold sealed values, and with which associated
// data, is each service's own schema.
package encrypted

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
)

// Column is one encrypted column of a service's database.
type Column struct {
	// Table and Column name it; Column is bytea, or bytea[] (Array: each element sealed).
	Table, Column string
	Array         bool
	// Key are the columns (read as text) a row's associated data is made of, and AAD makes
	// it from their values, as the service does when it seals: a constant for a value bound
	// to its column, the row's id for one bound to its row.
	Key []string
	AAD func(key []string) string
	// Where, when set, narrows the rows that hold sealed values (idempotency_keys: the
	// answers stored sealed).
	Where string
	// Plain, when set, is the text column an earlier release kept the value in, in clear:
	// a row with Plain not empty and Column NULL is sealed into Column and Plain emptied.
	Plain string
}

// Constant is the AAD of a column whose values are bound to the column alone.
func Constant(aad string) func([]string) string { return func([]string) string { return aad } }

// Name is "table.column".
func (c Column) Name() string { return c.Table + "." + c.Column }

// Protector seals, opens and re-encrypts values (bsn.Protector).
type Protector interface {
	Seal(plaintext, aad string) []byte
	Open(ciphertext []byte, aad string) (string, error)
	Rewrap(ciphertext []byte, aad string) ([]byte, error)
	NeedsRewrap(ciphertext []byte) bool
	KeyID() byte
}

// Count is what Reseal did with one column (or, of Verify, found).
type Count struct {
	Column string
	// Rewrapped values moved from a retired key to the current one; Sealed values an earlier
	// release stored in clear; Unreadable values sealed with a key that is no longer
	// configured (they stay as they are: nobody can read them any more). Of Verify: values
	// still under a retired key, values still in clear, and values that do not open; Opened
	// are the values that do.
	Rewrapped, Sealed, Unreadable, Opened int
}

// batch is the most rows read and rewritten in one transaction.
const batch = 500

// Reseal brings every column of cols under p's current key, batch by batch, each in a
// transaction of its own, and reports per column what it did. First it opens one value of
// each column that carries the current key's id: a key given under the id of another key
// (a typing error in the rotation) fails there, with a *WrongKeyError, before anything is
// written. Rows are visited once, in
// physical order (ctid), so a value that cannot be opened does not stop the rest; a row
// another transaction changes meanwhile is left to that transaction, which seals with the
// current key.
func Reseal(ctx context.Context, db *pgxdb.DB, p Protector, cols []Column) ([]Count, error) {
	var out []Count
	if err := currentKeyOpens(ctx, db, p, cols); err != nil {
		return nil, err
	}
	if todo, err := pending(ctx, db, p, cols); err != nil || !todo {
		for _, c := range cols {
			out = append(out, Count{Column: c.Name()})
		}
		return out, err
	}
	for _, c := range cols {
		n := Count{Column: c.Name()}
		if err := rewrap(ctx, db, p, c, &n); err != nil {
			return out, fmt.Errorf("re-encrypt %s: %w", c.Name(), err)
		}
		if c.Plain != "" {
			if err := sealPlain(ctx, db, p, c, &n); err != nil {
				return out, fmt.Errorf("seal %s.%s: %w", c.Table, c.Plain, err)
			}
		}
		out = append(out, n)
	}
	return out, nil
}

// CheckCurrentKey opens one value under the current key's id of each column and returns a
// *WrongKeyError naming those where it does not open: a service checks it before it first
// serves, so that a key given under the id of another key is refused at start instead of
// failing every read of sealed data.
func CheckCurrentKey(ctx context.Context, db *pgxdb.DB, p Protector, cols []Column) error {
	return currentKeyOpens(ctx, db, p, cols)
}

// WrongKeyError is a current key that does not open the values stored under its id.
type WrongKeyError struct {
	KeyID   byte
	Columns []string
}

func (e *WrongKeyError) Error() string {
	return fmt.Sprintf("the current encryption key does not open values stored under its id %d (%s): it is not the key that sealed them",
		e.KeyID, strings.Join(e.Columns, ", "))
}

// currentKeyOpens opens one value under the current key's id of each column, in one round
// trip, and returns a *WrongKeyError naming the columns where it does not open.
func currentKeyOpens(ctx context.Context, db *pgxdb.DB, p Protector, cols []Column) error {
	if len(cols) == 0 {
		return nil
	}
	var samples []string
	for i, c := range cols {
		col := pgx.Identifier{c.Column}.Sanitize()
		cond := fmt.Sprintf(`%[1]s IS NOT NULL AND length(%[1]s) > 0 AND get_byte(%[1]s, 0) = $1`, col)
		if c.Array {
			cond = fmt.Sprintf(`cardinality(%[1]s) > 0 AND length(%[1]s[1]) > 0 AND get_byte(%[1]s[1], 0) = $1`, col)
		}
		if c.Where != "" {
			cond += " AND (" + c.Where + ")"
		}
		samples = append(samples, fmt.Sprintf(`(SELECT %d, %s, %s FROM %s WHERE %s LIMIT 1)`, i, valuesOf(c), keyOf(c), pgx.Identifier{c.Table}.Sanitize(), cond))
	}
	rows, err := db.Pool.Query(ctx, strings.Join(samples, " UNION ALL "), p.KeyID())
	if err != nil {
		return err
	}
	type sample struct {
		col    int
		values [][]byte
		key    []string
	}
	found, err := pgx.CollectRows(rows, func(cr pgx.CollectableRow) (s sample, err error) {
		err = cr.Scan(&s.col, &s.values, &s.key)
		return s, err
	})
	if err != nil {
		return err
	}
	wrong := &WrongKeyError{KeyID: p.KeyID()}
	for _, s := range found {
		c := cols[s.col]
		if _, err := p.Open(s.values[0], c.AAD(s.key)); err != nil {
			wrong.Columns = append(wrong.Columns, c.Name())
		}
	}
	if len(wrong.Columns) > 0 {
		return wrong
	}
	return nil
}

// pending reports, in one round trip, whether any column has a value under a retired key or
// in clear: the usual answer at a service's start is no.
func pending(ctx context.Context, db *pgxdb.DB, p Protector, cols []Column) (bool, error) {
	if len(cols) == 0 {
		return false, nil
	}
	var exists []string
	for _, c := range cols {
		table := pgx.Identifier{c.Table}.Sanitize()
		exists = append(exists, fmt.Sprintf(`EXISTS (SELECT 1 FROM %s WHERE %s)`, table, underRetiredKey(c)))
		if c.Plain != "" {
			exists = append(exists, fmt.Sprintf(`EXISTS (SELECT 1 FROM %s WHERE %s IS NULL AND %s <> '')`, table,
				pgx.Identifier{c.Column}.Sanitize(), pgx.Identifier{c.Plain}.Sanitize()))
		}
	}
	var todo bool
	err := db.Pool.QueryRow(ctx, `SELECT `+strings.Join(exists, " OR "), p.KeyID()).Scan(&todo)
	return todo, err
}

// underRetiredKey is the condition of a row with a value sealed under another key than $1.
func underRetiredKey(c Column) string {
	cond := fmt.Sprintf(`%[1]s IS NOT NULL AND length(%[1]s) > 0 AND get_byte(%[1]s, 0) <> $1`, pgx.Identifier{c.Column}.Sanitize())
	if c.Array {
		cond = fmt.Sprintf(`EXISTS (SELECT 1 FROM unnest(%s) AS e WHERE length(e) > 0 AND get_byte(e, 0) <> $1)`, pgx.Identifier{c.Column}.Sanitize())
	}
	if c.Where != "" {
		cond += " AND (" + c.Where + ")"
	}
	return cond
}

func rewrap(ctx context.Context, db *pgxdb.DB, p Protector, c Column, n *Count) error {
	table, col := pgx.Identifier{c.Table}.Sanitize(), pgx.Identifier{c.Column}.Sanitize()
	after := "(0,0)"
	for {
		type row struct {
			at     string
			values [][]byte
			key    []string
		}
		var rows []row
		err := db.Tx(ctx, func(ctx context.Context) error {
			q := db.Q(ctx)
			rs, err := q.Query(ctx, fmt.Sprintf(`SELECT ctid::text, %s, %s FROM %s WHERE ctid > $2::tid AND %s ORDER BY ctid LIMIT %d FOR UPDATE`,
				valuesOf(c), keyOf(c), table, underRetiredKey(c), batch), p.KeyID(), after)
			if err != nil {
				return err
			}
			if rows, err = pgx.CollectRows(rs, func(cr pgx.CollectableRow) (r row, err error) {
				err = cr.Scan(&r.at, &r.values, &r.key)
				return r, err
			}); err != nil {
				return err
			}
			for _, r := range rows {
				changed, unreadable := false, false
				aad := c.AAD(r.key)
				for i, v := range r.values {
					if !p.NeedsRewrap(v) {
						continue
					}
					w, err := p.Rewrap(v, aad)
					if err != nil {
						unreadable = true
						continue
					}
					r.values[i], changed = w, true
				}
				if unreadable {
					n.Unreadable++
				}
				if !changed {
					continue
				}
				var arg any = r.values[0]
				if c.Array {
					arg = r.values
				}
				if _, err := q.Exec(ctx, fmt.Sprintf(`UPDATE %s SET %s = $1 WHERE ctid = $2::tid`, table, col), arg, r.at); err != nil {
					return err
				}
				n.Rewrapped++
			}
			return nil
		})
		if err != nil || len(rows) < batch {
			return err
		}
		after = rows[len(rows)-1].at
	}
}

// keyOf selects the columns of a row's associated data as a text array.
func keyOf(c Column) string {
	if len(c.Key) == 0 {
		return "ARRAY[]::text[]"
	}
	parts := make([]string, len(c.Key))
	for i, k := range c.Key {
		parts[i] = pgx.Identifier{k}.Sanitize() + "::text"
	}
	return "ARRAY[" + strings.Join(parts, ", ") + "]"
}

// valuesOf selects a column's values as an array (one element for a plain bytea column).
func valuesOf(c Column) string {
	if c.Array {
		return pgx.Identifier{c.Column}.Sanitize()
	}
	return "ARRAY[" + pgx.Identifier{c.Column}.Sanitize() + "]"
}

func sealPlain(ctx context.Context, db *pgxdb.DB, p Protector, c Column, n *Count) error {
	table, col, plain := pgx.Identifier{c.Table}.Sanitize(), pgx.Identifier{c.Column}.Sanitize(), pgx.Identifier{c.Plain}.Sanitize()
	for {
		done := 0
		err := db.Tx(ctx, func(ctx context.Context) error {
			q := db.Q(ctx)
			rs, err := q.Query(ctx, fmt.Sprintf(`SELECT ctid::text, %s, %s FROM %s WHERE %s IS NULL AND %s <> '' LIMIT %d FOR UPDATE`,
				plain, keyOf(c), table, col, plain, batch))
			if err != nil {
				return err
			}
			type row struct {
				at, text string
				key      []string
			}
			rows, err := pgx.CollectRows(rs, func(cr pgx.CollectableRow) (r row, err error) {
				err = cr.Scan(&r.at, &r.text, &r.key)
				return r, err
			})
			if err != nil {
				return err
			}
			for _, r := range rows {
				if _, err := q.Exec(ctx, fmt.Sprintf(`UPDATE %s SET %s = $1, %s = '' WHERE ctid = $2::tid`, table, col, plain),
					p.Seal(r.text, c.AAD(r.key)), r.at); err != nil {
					return err
				}
			}
			done = len(rows)
			return nil
		})
		if err != nil {
			return err
		}
		n.Sealed += done
		if done < batch {
			return nil
		}
	}
}

// Verify opens every value of cols with p and counts, per column, the values that do not open
// (Unreadable) and those under a retired key (Rewrapped: still to be re-encrypted). It
// changes nothing.
func Verify(ctx context.Context, db *pgxdb.DB, p Protector, cols []Column) ([]Count, error) {
	var out []Count
	for _, c := range cols {
		n := Count{Column: c.Name()}
		cond := pgx.Identifier{c.Column}.Sanitize() + " IS NOT NULL"
		if c.Where != "" {
			cond += " AND (" + c.Where + ")"
		}
		rows, err := db.Pool.Query(ctx, fmt.Sprintf(`SELECT %s, %s FROM %s WHERE %s`, valuesOf(c), keyOf(c), pgx.Identifier{c.Table}.Sanitize(), cond))
		if err != nil {
			return out, fmt.Errorf("verify %s: %w", c.Name(), err)
		}
		for rows.Next() {
			var values [][]byte
			var key []string
			if err := rows.Scan(&values, &key); err != nil {
				rows.Close()
				return out, err
			}
			for _, v := range values {
				if len(v) == 0 {
					continue
				}
				if _, err := p.Open(v, c.AAD(key)); err != nil {
					n.Unreadable++
					continue
				}
				n.Opened++
				if p.NeedsRewrap(v) {
					n.Rewrapped++
				}
			}
		}
		if err := rows.Err(); err != nil {
			return out, err
		}
		if c.Plain != "" {
			if err := db.Pool.QueryRow(ctx, fmt.Sprintf(`SELECT count(*) FROM %s WHERE %s <> ''`, pgx.Identifier{c.Table}.Sanitize(),
				pgx.Identifier{c.Plain}.Sanitize())).Scan(&n.Sealed); err != nil {
				return out, err
			}
		}
		out = append(out, n)
	}
	return out, nil
}

// Report is Reseal's counts as lines for an operator, naming only the columns that had
// anything to do; "" when nothing was to be done.
func Report(service string, counts []Count) string {
	var b strings.Builder
	for _, c := range counts {
		if c.Rewrapped+c.Sealed+c.Unreadable == 0 {
			continue
		}
		fmt.Fprintf(&b, "%s migrate: %s: %d re-encrypted under the current key, %d sealed that were stored in clear", service, c.Column, c.Rewrapped, c.Sealed)
		if c.Unreadable > 0 {
			fmt.Fprintf(&b, ", %d NOT READABLE (sealed with a key that is no longer configured)", c.Unreadable)
		}
		b.WriteString("\n")
	}
	return b.String()
}
