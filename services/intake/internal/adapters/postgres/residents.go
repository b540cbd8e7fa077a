// Package postgres stores intake's residents, households and intakes in its own PostgreSQL
// database. BSNs and questions are stored only encrypted.
package postgres

import (
	"context"
	"encoding/json"

	"github.com/jackc/pgx/v5"
	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	"github.com/wijkbrug/wijkbrug/pkg/bsn"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
	"github.com/wijkbrug/wijkbrug/services/intake/internal/domain"
)

// Additional data bound into the ciphertexts, so a value cannot be moved to another column.
const (
	aadBSN              = "intake.residents.bsn"
	aadQuestion         = "intake.intakes.question"
	aadName             = "intake.residents.name"
	aadBirthDate        = "intake.residents.birth_date"
	aadResidentAddress  = "intake.residents.address"
	aadHouseholdAddress = "intake.households.address"
	// The household address index shares the BSN index key; the prefix separates the domains.
	addressIndexPrefix = "intake.households.address:"
)

// Residents is the resident and household repository.
type Residents struct {
	db   *pgxdb.DB
	prot *bsn.Protector
}

// NewResidents returns the repository.
func NewResidents(db *pgxdb.DB, prot *bsn.Protector) *Residents {
	return &Residents{db: db, prot: prot}
}

// Register inserts r unless a resident with the same BSN exists. The unique blind index
// decides: a concurrent registration of the same BSN waits for the first to commit and then
// finds its row, so there is never a second resident. A resident that exists is returned as
// FindByBSN returns it: the kept resident when it was merged into another, without the BSN.
// The INSERT and the read of an existing resident go out in one pipeline: one round trip
// either way, where a known resident took four (the INSERT, a read, and FindByBSN's two).
func (r *Residents) Register(ctx context.Context, res domain.Resident) (domain.Resident, bool, error) {
	index := r.prot.Index(res.BSN)
	nameEnc, birthEnc, addressEnc, err := r.sealDetails(res)
	if err != nil {
		return res, false, err
	}
	b := &pgx.Batch{}
	b.Queue(`
		INSERT INTO residents (id, bsn_enc, bsn_index, pseudonym, municipality_code, district_code, name_enc, birth_date_enc, address_enc)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (bsn_index) DO NOTHING`,
		res.ID, r.prot.Seal(res.BSN, aadBSN), index, res.Pseudonym, res.Municipality, res.District, nameEnc, birthEnc, addressEnc)
	// After the INSERT, so a resident it inserted or a concurrent one it waited for is found.
	b.Queue(`SELECT `+residentColumns+` FROM residents WHERE id = (SELECT COALESCE(merged_into, id) FROM residents WHERE bsn_index = $1)`, index)
	br := r.db.Q(ctx).SendBatch(ctx, b)
	tag, err := br.Exec()
	var found domain.Resident
	if err == nil {
		found, err = scanResident(br.QueryRow())
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return res, false, err
	}
	if tag.RowsAffected() == 1 {
		return res, true, nil
	}
	return found, false, nil
}

// Insert stores a new household with its members. The writes are deferred (pgxdb.DB.Defer):
// nothing needs their answer, and they go out with the transaction's next statement.
func (r *Residents) Insert(ctx context.Context, h domain.Household) error {
	var addressEnc, addressIndex []byte
	if !h.Address.IsZero() {
		var err error
		if addressEnc, err = r.sealJSON(h.Address, aadHouseholdAddress); err != nil {
			return err
		}
		addressIndex = r.AddressIndex(h.Address)
	}
	if err := r.db.Defer(ctx, `INSERT INTO households (id, municipality_code, district_code, address_enc, address_index) VALUES ($1, $2, $3, $4, $5)`,
		h.ID, h.Municipality, h.District, addressEnc, addressIndex); err != nil {
		return err
	}
	for _, m := range h.Members {
		if err := r.db.Defer(ctx, addMemberSQL, h.ID, m.ResidentID, m.Role, m.StartedOn); err != nil {
			return err
		}
	}
	return nil
}

// AddressIndex is the keyed blind index of an address's dwelling (postcode, house number,
// addition), for matching households without storing the address in plain form.
func (r *Residents) AddressIndex(a domain.Address) []byte {
	return r.prot.Index(addressIndexPrefix + a.MatchKey())
}

// LockAddress serialises registrations of households at one address until the transaction
// ends (an advisory lock: there may be no row to lock yet).
func (r *Residents) LockAddress(ctx context.Context, a domain.Address) error {
	_, err := r.db.Q(ctx).Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('intake.households.address:' || encode($1::bytea, 'hex'), 0))`,
		r.AddressIndex(a))
	return err
}

// FindByAddress returns the household with current members registered at the address.
func (r *Residents) FindByAddress(ctx context.Context, a domain.Address) (string, bool, error) {
	var id string
	err := r.db.Q(ctx).QueryRow(ctx, `
		SELECT h.id::text FROM households h
		WHERE h.address_index = $1 AND EXISTS (SELECT 1 FROM household_members m WHERE m.household_id = h.id AND m.ended_on IS NULL)
		ORDER BY h.created_at LIMIT 1`, r.AddressIndex(a)).Scan(&id)
	if pgxdb.IsNoRows(err) {
		return "", false, nil
	}
	return id, err == nil, err
}

// AddMember adds a membership. A resident has at most one current membership (a unique
// index); the caller locks the resident first.
func (r *Residents) AddMember(ctx context.Context, householdID string, m domain.Member) error {
	_, err := r.db.Q(ctx).Exec(ctx, addMemberSQL, householdID, m.ResidentID, m.Role, m.StartedOn)
	return err
}

const addMemberSQL = `INSERT INTO household_members (household_id, resident_id, role, started_on) VALUES ($1, $2, $3, $4::date)`

// EndMember ends the resident's current membership of the household on endedOn.
func (r *Residents) EndMember(ctx context.Context, householdID, residentID, endedOn string) error {
	_, err := r.db.Q(ctx).Exec(ctx, `UPDATE household_members SET ended_on = $3::date
		WHERE household_id = $1 AND resident_id = $2 AND ended_on IS NULL`, householdID, residentID, endedOn)
	return err
}

// GetHousehold returns a household with all its memberships (current first, then by start)
// and its address; forUpdate locks the household row until the transaction ends.
func (r *Residents) GetHousehold(ctx context.Context, id string, forUpdate bool) (domain.Household, error) {
	q := r.db.Q(ctx)
	h := domain.Household{ID: id}
	lock := ""
	if forUpdate {
		lock = " FOR UPDATE"
	}
	var addressEnc []byte
	err := q.QueryRow(ctx, `SELECT municipality_code, district_code, address_enc FROM households WHERE id = $1`+lock, id).
		Scan(&h.Municipality, &h.District, &addressEnc)
	if pgxdb.IsNoRows(err) {
		return h, apperr.NotFound("household", id)
	}
	if err != nil {
		return h, err
	}
	if err := r.openJSON(addressEnc, aadHouseholdAddress, &h.Address); err != nil {
		return h, err
	}
	rows, err := q.Query(ctx, `
		SELECT resident_id::text, role, to_char(started_on, 'YYYY-MM-DD'), COALESCE(to_char(ended_on, 'YYYY-MM-DD'), '')
		FROM household_members WHERE household_id = $1
		ORDER BY ended_on IS NOT NULL, started_on, ended_on, resident_id`, id)
	if err != nil {
		return h, err
	}
	defer rows.Close()
	for rows.Next() {
		var m domain.Member
		if err := rows.Scan(&m.ResidentID, &m.Role, &m.StartedOn, &m.EndedOn); err != nil {
			return h, err
		}
		h.Members = append(h.Members, m)
	}
	return h, rows.Err()
}

// LockResident locks a resident row until the transaction ends, so concurrent membership
// changes of one resident are serialised.
func (r *Residents) LockResident(ctx context.Context, id string) error {
	var x string
	err := r.db.Q(ctx).QueryRow(ctx, `SELECT id::text FROM residents WHERE id = $1 FOR UPDATE`, id).Scan(&x)
	if pgxdb.IsNoRows(err) {
		return apperr.NotFound("resident", id)
	}
	return err
}

// LoadDetails decrypts the resident's name, date of birth and address into res.
func (r *Residents) LoadDetails(ctx context.Context, res *domain.Resident) error {
	var nameEnc, birthEnc, addressEnc []byte
	err := r.db.Q(ctx).QueryRow(ctx, `SELECT name_enc, birth_date_enc, address_enc FROM residents WHERE id = $1`, res.ID).
		Scan(&nameEnc, &birthEnc, &addressEnc)
	if pgxdb.IsNoRows(err) {
		return apperr.NotFound("resident", res.ID)
	}
	if err != nil {
		return err
	}
	if err := r.openJSON(nameEnc, aadName, &res.Name); err != nil {
		return err
	}
	if err := r.openJSON(addressEnc, aadResidentAddress, &res.Address); err != nil {
		return err
	}
	res.BirthDate = ""
	if birthEnc != nil {
		if res.BirthDate, err = r.prot.Open(birthEnc, aadBirthDate); err != nil {
			return err
		}
	}
	return nil
}

// SaveDetails stores the resident's name, date of birth, address and district.
func (r *Residents) SaveDetails(ctx context.Context, res domain.Resident) error {
	nameEnc, birthEnc, addressEnc, err := r.sealDetails(res)
	if err != nil {
		return err
	}
	_, err = r.db.Q(ctx).Exec(ctx, `UPDATE residents SET name_enc = $2, birth_date_enc = $3, address_enc = $4, district_code = $5 WHERE id = $1`,
		res.ID, nameEnc, birthEnc, addressEnc, res.District)
	return err
}

// name and address as stored (inside the ciphertext).
type nameJSON struct {
	GivenNames string `json:"given_names,omitempty"`
	Prefix     string `json:"prefix,omitempty"`
	FamilyName string `json:"family_name,omitempty"`
}

type addressJSON struct {
	Street      string `json:"street"`
	HouseNumber int    `json:"house_number"`
	Addition    string `json:"addition,omitempty"`
	Postcode    string `json:"postcode"`
	City        string `json:"city"`
}

func toJSON(v any) any {
	switch x := v.(type) {
	case domain.Name:
		return nameJSON{x.GivenNames, x.Prefix, x.FamilyName}
	case domain.Address:
		return addressJSON{x.Street, x.HouseNumber, x.Addition, x.Postcode, x.City}
	}
	return v
}

// sealJSON encrypts a name or address; the zero value is stored as NULL.
func (r *Residents) sealJSON(v any, aad string) ([]byte, error) {
	switch x := v.(type) {
	case domain.Name:
		if x.IsZero() {
			return nil, nil
		}
	case domain.Address:
		if x.IsZero() {
			return nil, nil
		}
	}
	b, err := json.Marshal(toJSON(v))
	if err != nil {
		return nil, err
	}
	return r.prot.Seal(string(b), aad), nil
}

// openJSON decrypts a name or address into out (a *domain.Name or *domain.Address); NULL
// leaves it zero.
func (r *Residents) openJSON(enc []byte, aad string, out any) error {
	if enc == nil {
		return nil
	}
	pt, err := r.prot.Open(enc, aad)
	if err != nil {
		return err
	}
	switch o := out.(type) {
	case *domain.Name:
		var n nameJSON
		if err := json.Unmarshal([]byte(pt), &n); err != nil {
			return err
		}
		*o = domain.Name{GivenNames: n.GivenNames, Prefix: n.Prefix, FamilyName: n.FamilyName}
	case *domain.Address:
		var a addressJSON
		if err := json.Unmarshal([]byte(pt), &a); err != nil {
			return err
		}
		*o = domain.Address{Street: a.Street, HouseNumber: a.HouseNumber, Addition: a.Addition, Postcode: a.Postcode, City: a.City}
	}
	return nil
}

func (r *Residents) sealDetails(res domain.Resident) (nameEnc, birthEnc, addressEnc []byte, err error) {
	if nameEnc, err = r.sealJSON(res.Name, aadName); err != nil {
		return
	}
	if addressEnc, err = r.sealJSON(res.Address, aadResidentAddress); err != nil {
		return
	}
	if res.BirthDate != "" {
		birthEnc = r.prot.Seal(res.BirthDate, aadBirthDate)
	}
	return
}

// OfResident returns the current household of a resident (a unique index keeps it to one).
func (r *Residents) OfResident(ctx context.Context, residentID string) (string, error) {
	var id string
	err := r.db.Q(ctx).QueryRow(ctx, `
		SELECT household_id::text FROM household_members WHERE resident_id = $1 AND ended_on IS NULL`, residentID).Scan(&id)
	if pgxdb.IsNoRows(err) {
		return "", apperr.NotFound("household", "")
	}
	return id, err
}

// FindByBSN returns the resident with this BSN, following a merge to the kept resident;
// apperr NotFound when there is none.
func (r *Residents) FindByBSN(ctx context.Context, bsnValue string) (domain.Resident, error) {
	out, err := scanResident(r.db.Q(ctx).QueryRow(ctx, `SELECT `+residentColumns+` FROM residents
		WHERE id = (SELECT COALESCE(merged_into, id) FROM residents WHERE bsn_index = $1)`, r.prot.Index(bsnValue)))
	if pgxdb.IsNoRows(err) {
		return domain.Resident{}, apperr.NotFound("resident", "")
	}
	return out, err
}

// Get returns a resident without the BSN; apperr NotFound when there is none.
func (r *Residents) Get(ctx context.Context, id string) (domain.Resident, error) {
	out, err := scanResident(r.db.Q(ctx).QueryRow(ctx, `SELECT `+residentColumns+` FROM residents WHERE id = $1`, id))
	if pgxdb.IsNoRows(err) {
		return out, apperr.NotFound("resident", id)
	}
	return out, err
}

// residentColumns are what a resident is read as (without the BSN): scanResident's columns.
const residentColumns = `id::text, pseudonym, municipality_code, district_code, merged_into::text`

func scanResident(row pgx.Row) (domain.Resident, error) {
	var out domain.Resident
	var merged *string
	err := row.Scan(&out.ID, &out.Pseudonym, &out.Municipality, &out.District, &merged)
	if merged != nil {
		out.MergedInto = *merged
	}
	return out, err
}

// AddTeam records that a team works with a resident. The row goes out with the COMMIT
// (pgxdb.DB.Defer): it is the last thing a registration decides about the resident, and what
// reads it (the team's later access) runs in later transactions.
func (r *Residents) AddTeam(ctx context.Context, teamOIN, residentID string) error {
	return r.db.Defer(ctx, `INSERT INTO team_residents (team_oin, resident_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, teamOIN, residentID)
}

// TeamWorksWith reports whether a team works with a resident.
func (r *Residents) TeamWorksWith(ctx context.Context, teamOIN, residentID string) (bool, error) {
	var ok bool
	err := r.db.Q(ctx).QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM team_residents WHERE team_oin = $1 AND resident_id = $2)`, teamOIN, residentID).Scan(&ok)
	return ok, err
}

// TeamWorksWithHousehold reports whether a team works with a current member of a household.
func (r *Residents) TeamWorksWithHousehold(ctx context.Context, teamOIN, householdID string) (bool, error) {
	var ok bool
	err := r.db.Q(ctx).QueryRow(ctx, `
		SELECT EXISTS (SELECT 1 FROM household_members m JOIN team_residents t ON t.resident_id = m.resident_id
		               WHERE m.household_id = $2 AND m.ended_on IS NULL AND t.team_oin = $1)`, teamOIN, householdID).Scan(&ok)
	return ok, err
}

// CurrentResidents returns a household's current members: resident id and pseudonym.
func (r *Residents) CurrentResidents(ctx context.Context, householdID string) ([]domain.ResidentRef, error) {
	rows, err := r.db.Q(ctx).Query(ctx, `
		SELECT r.id::text, r.pseudonym FROM household_members m JOIN residents r ON r.id = m.resident_id
		WHERE m.household_id = $1 AND m.ended_on IS NULL ORDER BY r.id`, householdID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []domain.ResidentRef
	for rows.Next() {
		var ref domain.ResidentRef
		if err := rows.Scan(&ref.ResidentID, &ref.Pseudonym); err != nil {
			return nil, err
		}
		out = append(out, ref)
	}
	return out, rows.Err()
}

// CurrentResidentsAfter returns up to limit current members of a household with a resident id
// above after ("" from the first), in id order.
func (r *Residents) CurrentResidentsAfter(ctx context.Context, householdID, after string, limit int) ([]domain.ResidentRef, error) {
	rows, err := r.db.Q(ctx).Query(ctx, `
		SELECT r.id::text, r.pseudonym FROM household_members m JOIN residents r ON r.id = m.resident_id
		WHERE m.household_id = $1 AND m.ended_on IS NULL AND ($2 = '' OR r.id > NULLIF($2, '')::uuid)
		ORDER BY r.id LIMIT $3`, householdID, after, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (domain.ResidentRef, error) {
		var ref domain.ResidentRef
		err := row.Scan(&ref.ResidentID, &ref.Pseudonym)
		return ref, err
	})
}

// WasMember reports whether a resident is or was a member of a household.
func (r *Residents) WasMember(ctx context.Context, householdID, residentID string) (bool, error) {
	var ok bool
	err := r.db.Q(ctx).QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM household_members WHERE household_id = $1 AND resident_id = $2)`,
		householdID, residentID).Scan(&ok)
	return ok, err
}

// HouseholdMunicipality returns a household's municipality; apperr NotFound when none.
func (r *Residents) HouseholdMunicipality(ctx context.Context, householdID string) (string, error) {
	var m string
	err := r.db.Q(ctx).QueryRow(ctx, `SELECT municipality_code FROM households WHERE id = $1`, householdID).Scan(&m)
	if pgxdb.IsNoRows(err) {
		return "", apperr.NotFound("household", householdID)
	}
	return m, err
}

// LockForMerge locks the residents' rows, in id order, until the transaction ends: two merges
// of the same residents (a into b and b into a at once) run one after the other, and the
// second reads what the first left.
func (r *Residents) LockForMerge(ctx context.Context, ids ...string) error {
	rows, err := r.db.Q(ctx).Query(ctx, `SELECT id FROM residents WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE`, ids)
	if err != nil {
		return err
	}
	rows.Close()
	return rows.Err()
}

// Merge marks duplicate as merged into keep: the duplicate leaves its household, its teams
// now work with keep, and its BSN finds keep from now on (FindByBSN follows merged_into).
func (r *Residents) Merge(ctx context.Context, keep, duplicate, today string) error {
	q := r.db.Q(ctx)
	tag, err := q.Exec(ctx, `UPDATE residents SET merged_into = $2 WHERE id = $1 AND merged_into IS NULL`, duplicate, keep)
	if err != nil {
		return err
	}
	if tag.RowsAffected() != 1 {
		return apperr.FailedPrecondition("resident " + duplicate + " was already merged")
	}
	// Earlier merges into the duplicate now point at the kept resident directly.
	if _, err := q.Exec(ctx, `UPDATE residents SET merged_into = $2 WHERE merged_into = $1`, duplicate, keep); err != nil {
		return err
	}
	// The duplicate leaves its household; the membership stays in the household's history.
	if _, err := q.Exec(ctx, `UPDATE household_members SET ended_on = GREATEST(started_on, $2::date)
		WHERE resident_id = $1 AND ended_on IS NULL`, duplicate, today); err != nil {
		return err
	}
	_, err = q.Exec(ctx, `INSERT INTO team_residents (team_oin, resident_id) SELECT team_oin, $2 FROM team_residents WHERE resident_id = $1
		ON CONFLICT DO NOTHING`, duplicate, keep)
	return err
}
