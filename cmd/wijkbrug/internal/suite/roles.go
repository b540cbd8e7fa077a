package suite

import "context"

// prepareDatabase creates a service's database owned by the owner role (also taking over one
// kept from a run before the roles existed), after creating the owner and application roles
// (idempotent). Migrations then run as the owner and the service as the application role.
func (s *Suite) prepareDatabase(ctx context.Context, name string) error {
	if err := s.Postgres.CreateRoles(ctx); err != nil {
		return err
	}
	if err := s.Postgres.CreateDatabase(ctx, name); err != nil {
		return err
	}
	return s.Postgres.HandToOwner(ctx, name)
}
