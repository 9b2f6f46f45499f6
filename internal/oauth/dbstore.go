package oauth

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DBStore keeps a login's refresh token in PostgreSQL (oauth_refresh_tokens),
// sealed: one place for the workers of every machine, so a token rotated by
// one is the token the others refresh with next.
type DBStore struct {
	Pool   *pgxpool.Pool
	Login  string  // the row's key, e.g. "mailbox:support"
	Sealer *Sealer // required: the token is never stored in clear
}

func (d DBStore) Load(ctx context.Context) (string, error) {
	var sealed []byte
	err := d.Pool.QueryRow(ctx, `SELECT sealed FROM oauth_refresh_tokens WHERE login = $1`, d.Login).Scan(&sealed)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("refresh token of %s: %w", d.Login, err)
	}
	plain, err := d.Sealer.Open(sealed, []byte(d.Login))
	if err != nil {
		return "", fmt.Errorf("refresh token of %s does not open with this CONTIPLE_MASK_KEY (was it changed? run `mailbox authorize` again): %w", d.Login, err)
	}
	return string(plain), nil
}

func (d DBStore) Save(ctx context.Context, token string) error {
	_, err := d.Pool.Exec(ctx, `INSERT INTO oauth_refresh_tokens (login, sealed) VALUES ($1, $2)
		ON CONFLICT (login) DO UPDATE SET sealed = excluded.sealed, updated_at = now()`, d.Login, d.Sealer.Seal([]byte(token), []byte(d.Login)))
	if err != nil {
		return fmt.Errorf("refresh token of %s: %w", d.Login, err)
	}
	return nil
}
