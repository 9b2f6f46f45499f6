package oauth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"
)

// Defaults of SourceOptions.
const (
	DefaultEarly       = 5 * time.Minute // refresh this long before expiry (at most a third of the lifetime)
	DefaultLockTTL     = time.Minute     // a refresh is cut off at 3/4 of it, so the lock outlives it
	DefaultBackoff     = time.Minute     // first pause after a lost authorization
	DefaultMaxBackoff  = time.Hour
	lockPoll           = 50 * time.Millisecond
	cacheKeyPrefix     = "contiple:oauth:"
	unlockScriptSource = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) end return 0`
)

var unlockScript = redis.NewScript(unlockScriptSource)

// SourceOptions are a Source's collaborators and tuning.
type SourceOptions struct {
	// Redis holds the access token shared by every worker process, the
	// refresh lock and the memory of a lost authorization. Required.
	Redis redis.UniversalClient
	// Store keeps the refresh token (GrantRefreshToken only).
	Store RefreshStore
	// Sealer encrypts the cached token; nil stores it in clear.
	Sealer *Sealer
	Log    *slog.Logger
	// Early, LockTTL, Backoff, MaxBackoff: 0 means the Default….
	Early, LockTTL, Backoff, MaxBackoff time.Duration
}

// Source hands out access tokens for one login. Every process with the same
// Config.Name and Redis shares one token: it is fetched, and refreshed before
// it expires, by whichever process takes the Redis lock; the others keep
// using the valid one meanwhile, or wait for the new one. Safe for concurrent use.
type Source struct {
	cfg  Config
	opt  SourceOptions
	now  func() time.Time
	keys redisKeys
}

// redisKeys are a login's keys in Redis.
type redisKeys struct{ token, lock, failed string }

func keysFor(name string) redisKeys {
	// The hash tag keeps a login's keys in one Redis Cluster slot, for the
	// multi-key DEL of ForgetShared.
	base := cacheKeyPrefix + "{" + name + "}:"
	return redisKeys{token: base + "token", lock: base + "lock", failed: base + "failed"}
}

// cached is what Redis holds (sealed when there is a Sealer).
type cached struct {
	Access  string    `json:"access_token"`
	Expiry  time.Time `json:"expiry"`
	Fetched time.Time `json:"fetched"`
}

// failure is the memory of a lost authorization, kept until the next attempt.
type failure struct {
	Code    string    `json:"code"`
	Message string    `json:"message"`
	Until   time.Time `json:"until"`
	Pause   int64     `json:"pause_ms"` // the pause that ended at Until, doubled next time
	Refresh string    `json:"refresh"`  // fingerprint of the refresh token that failed
}

// NewSource checks cfg and returns its Source.
func NewSource(cfg Config, opt SourceOptions) (*Source, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if opt.Redis == nil {
		return nil, fmt.Errorf("%s: a Redis client is required", cfg)
	}
	if cfg.Grant == GrantRefreshToken && opt.Store == nil {
		return nil, fmt.Errorf("%s: a refresh token store is required", cfg)
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&opt.Early, DefaultEarly)
	def(&opt.LockTTL, DefaultLockTTL)
	def(&opt.Backoff, DefaultBackoff)
	def(&opt.MaxBackoff, DefaultMaxBackoff)
	return &Source{cfg: cfg, opt: opt, now: time.Now, keys: keysFor(cfg.Name)}, nil
}

// Name is the login's name (Config.Name).
func (s *Source) Name() string { return s.cfg.Name }

// Token returns a valid access token. It returns an *AuthorizationError when
// the authorization is lost, without asking the provider again until the
// pause after the last attempt is over.
func (s *Source) Token(ctx context.Context) (string, error) {
	for {
		c, err := s.load(ctx)
		if err != nil {
			return "", err
		}
		now := s.now()
		if c != nil && now.Before(c.Expiry) && now.Before(c.Expiry.Add(-s.early(c))) {
			return c.Access, nil
		}
		// Missing, expired or due: one process refreshes.
		token, locked, err := s.refreshLocked(ctx)
		if locked {
			if err != nil && c != nil && now.Before(c.Expiry) && !IsAuthorizationLost(err) {
				// An early refresh failed for a passing reason: the token is still good.
				s.opt.Log.Warn("early token refresh failed; using the current token", "login", s.cfg.Name, "err", err)
				return c.Access, nil
			}
			return token, err
		}
		if err != nil {
			return "", err
		}
		if c != nil && now.Before(c.Expiry) {
			return c.Access, nil // another process is refreshing; this one is still valid
		}
		// Wait for the other process's token.
		t := time.NewTimer(lockPoll)
		select {
		case <-ctx.Done():
			t.Stop()
			return "", fmt.Errorf("oauth2 %s: waiting for another process to refresh the token: %w", s.cfg.Name, ctx.Err())
		case <-t.C:
		}
	}
}

// Invalidate tells the Source that a server refused token: if it is still
// the shared one, it is dropped, so that the next Token fetches a new one.
// A token already replaced (by another process that saw the same refusal)
// is left alone, so one refusal costs one refresh.
func (s *Source) Invalidate(ctx context.Context, token string) error {
	c, err := s.load(ctx)
	if err != nil || c == nil || c.Access != token {
		return err
	}
	s.opt.Log.Info("a server refused the access token; fetching a new one", "login", s.cfg.Name)
	// Only delete what was read: a concurrent refresh may have just replaced it.
	return s.opt.Redis.Watch(ctx, func(tx *redis.Tx) error {
		b, err := tx.Get(ctx, s.keys.token).Bytes()
		if err != nil {
			return nil
		}
		if cur, err := s.decode(b); err != nil || cur.Access != token {
			return nil
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error { return p.Del(ctx, s.keys.token).Err() })
		return err
	}, s.keys.token)
}

// ForgetShared drops the shared token of the login name and the memory of a
// lost authorization, e.g. after `mailbox authorize` stored a new refresh token.
func ForgetShared(ctx context.Context, rdb redis.UniversalClient, name string) error {
	k := keysFor(name)
	return rdb.Del(ctx, k.token, k.failed).Err()
}

func (s *Source) early(c *cached) time.Duration {
	return min(s.opt.Early, c.Expiry.Sub(c.Fetched)/3)
}

// refreshLocked takes the lock and fetches a new token. locked is false when
// another process holds the lock (nothing was fetched).
func (s *Source) refreshLocked(ctx context.Context) (token string, locked bool, err error) {
	id := randomHex(12)
	ok, err := s.opt.Redis.SetNX(ctx, s.keys.lock, id, s.opt.LockTTL).Result()
	if err != nil {
		return "", false, fmt.Errorf("oauth2 %s: redis: %w", s.cfg.Name, err)
	}
	if !ok {
		return "", false, nil
	}
	defer unlockScript.Run(context.WithoutCancel(ctx), s.opt.Redis, []string{s.keys.lock}, id)
	// Another process may have refreshed between our read and our lock.
	if c, err := s.load(ctx); err != nil {
		return "", true, err
	} else if now := s.now(); c != nil && now.Before(c.Expiry.Add(-s.early(c))) {
		return c.Access, true, nil
	}
	// Bounded well inside the lock's life: were the lock to expire mid-refresh,
	// another process could refresh with the same (then rotated-away) token.
	fctx, cancel := context.WithTimeout(ctx, s.opt.LockTTL*3/4)
	defer cancel()
	token, err = s.fetch(fctx)
	return token, true, err
}

// fetch asks the provider (lock held), persists a rotated refresh token,
// then shares the access token.
func (s *Source) fetch(ctx context.Context) (string, error) {
	var rt string
	if s.cfg.Grant == GrantRefreshToken {
		var err error
		if rt, err = s.opt.Store.Load(ctx); err != nil {
			return "", fmt.Errorf("oauth2 %s: %w", s.cfg.Name, err)
		}
	}
	if err := s.pausedAfterFailure(ctx, rt); err != nil {
		return "", err
	}
	started := s.now()
	tok, err := s.cfg.fetch(ctx, rt)
	if err != nil {
		err = s.cfg.classify(err)
		if ae := (*AuthorizationError)(nil); errors.As(err, &ae) {
			s.remember(ctx, ae, rt)
			s.opt.Log.Error("OAuth2 authorization lost: mail for this login stops until an operator acts",
				"login", s.cfg.Name, "code", ae.Code, "err", err)
		}
		return "", err
	}
	if tok.RefreshToken != "" && tok.RefreshToken != rt && s.cfg.Grant == GrantRefreshToken {
		// Persist before anything uses it: the provider may have voided rt already.
		if err := s.opt.Store.Save(ctx, tok.RefreshToken); err != nil {
			s.opt.Log.Error("the rotated refresh token could not be saved; a restart will need `mailbox authorize`",
				"login", s.cfg.Name, "err", err)
			return "", fmt.Errorf("oauth2 %s: saving the rotated refresh token: %w", s.cfg.Name, err)
		}
	}
	expiry := tok.Expiry
	if expiry.IsZero() {
		expiry = started.Add(time.Hour) // the server said nothing; Invalidate covers a shorter life
	}
	c := cached{Access: tok.AccessToken, Expiry: expiry, Fetched: started}
	if err := s.store(ctx, c); err != nil {
		return "", err
	}
	s.opt.Redis.Del(ctx, s.keys.failed)
	s.opt.Log.Info("OAuth2 access token fetched", "login", s.cfg.Name, "expires", expiry.UTC().Format(time.RFC3339))
	return c.Access, nil
}

// pausedAfterFailure returns the remembered *AuthorizationError while its
// pause lasts, unless a new refresh token was stored since.
func (s *Source) pausedAfterFailure(ctx context.Context, rt string) error {
	f, err := s.failure(ctx)
	if err != nil || f == nil {
		return err
	}
	if s.now().After(f.Until) || (rt != "" && fingerprint(rt) != f.Refresh) {
		return nil
	}
	return &AuthorizationError{Name: s.cfg.Name, Code: f.Code, Until: f.Until, Err: errors.New(f.Message), hint: s.cfg.hint()}
}

// hint says what mends a lost authorization of this login.
func (c Config) hint() string {
	if c.Grant == GrantRefreshToken {
		return c.Reauthorize
	}
	return "check the client id and secret, and that the application is still granted access (admin consent, domain-wide delegation)"
}

// remember keeps ae, with a pause that doubles on each failure in a row.
func (s *Source) remember(ctx context.Context, ae *AuthorizationError, rt string) {
	pause := s.opt.Backoff
	if f, _ := s.failure(ctx); f != nil && f.Refresh == fingerprint(rt) {
		pause = min(2*time.Duration(f.Pause)*time.Millisecond, s.opt.MaxBackoff)
	}
	ae.Until = s.now().Add(pause)
	f := failure{Code: ae.Code, Message: ae.Err.Error(), Until: ae.Until, Pause: pause.Milliseconds(), Refresh: fingerprint(rt)}
	b, _ := json.Marshal(f)
	// Kept past Until so that the next pause can double.
	if err := s.opt.Redis.Set(ctx, s.keys.failed, b, pause+s.opt.MaxBackoff).Err(); err != nil {
		s.opt.Log.Warn("could not record the lost authorization", "login", s.cfg.Name, "err", err)
	}
}

// get reads key from Redis; nil when there is none.
func (s *Source) get(ctx context.Context, key string) ([]byte, error) {
	b, err := s.opt.Redis.Get(ctx, key).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("oauth2 %s: redis: %w", s.cfg.Name, err)
	}
	return b, nil
}

func (s *Source) failure(ctx context.Context) (*failure, error) {
	b, err := s.get(ctx, s.keys.failed)
	if b == nil {
		return nil, err
	}
	f := &failure{}
	if err := json.Unmarshal(b, f); err != nil {
		return nil, nil // unreadable: as if none
	}
	return f, nil
}

func (s *Source) load(ctx context.Context) (*cached, error) {
	b, err := s.get(ctx, s.keys.token)
	if b == nil {
		return nil, err
	}
	c, err := s.decode(b)
	if err != nil {
		s.opt.Log.Warn("cached token unreadable (another sealing key?); fetching a new one", "login", s.cfg.Name)
		return nil, nil
	}
	return c, nil
}

func (s *Source) decode(b []byte) (*cached, error) {
	if s.opt.Sealer != nil {
		var err error
		if b, err = s.opt.Sealer.Open(b, []byte(s.cfg.Name)); err != nil {
			return nil, err
		}
	}
	c := &cached{}
	return c, json.Unmarshal(b, c)
}

func (s *Source) store(ctx context.Context, c cached) error {
	b, _ := json.Marshal(c)
	if s.opt.Sealer != nil {
		b = s.opt.Sealer.Seal(b, []byte(s.cfg.Name))
	}
	ttl := c.Expiry.Sub(s.now())
	if ttl <= 0 {
		return fmt.Errorf("oauth2 %s: the provider issued a token that has already expired (%s); is the clock right?",
			s.cfg.Name, c.Expiry.UTC().Format(time.RFC3339))
	}
	if err := s.opt.Redis.Set(ctx, s.keys.token, b, ttl).Err(); err != nil {
		return fmt.Errorf("oauth2 %s: redis: %w", s.cfg.Name, err)
	}
	return nil
}

func fingerprint(rt string) string {
	if rt == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(rt))
	return hex.EncodeToString(sum[:8])
}
