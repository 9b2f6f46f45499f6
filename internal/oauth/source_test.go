package oauth_test

import (
	"bytes"
	"context"
	"errors"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/redis/go-redis/v9"

	"github.com/contiple/contiple-worker/internal/oauth"
	"github.com/contiple/contiple-worker/internal/oauth/oauthtest"
	"github.com/contiple/contiple-worker/internal/testenv"
)

func newRedis(t *testing.T) redis.UniversalClient {
	t.Helper()
	opt, err := redis.ParseURL(testenv.NewRedisDB(t))
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

// process is one worker process's view of a login: its own Source on the
// shared Redis and refresh token store.
func process(t *testing.T, cfg oauth.Config, rdb redis.UniversalClient, store oauth.RefreshStore) *oauth.Source {
	t.Helper()
	s, err := oauth.NewSource(cfg, oauth.SourceOptions{Redis: rdb, Store: store})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// refreshConfig is a delegated (refresh token) login at srv, with its store
// holding a freshly granted refresh token for user.
func refreshConfig(t *testing.T, srv *oauthtest.Server, name, user string) (oauth.Config, oauth.FileStore) {
	t.Helper()
	srv.AddClient("desk-"+name, "", user)
	store := oauth.FileStore{Path: filepath.Join(t.TempDir(), name+".token")}
	if err := store.Save(context.Background(), srv.GrantRefreshToken("desk-"+name, user)); err != nil {
		t.Fatal(err)
	}
	e := srv.Endpoint()
	return oauth.Config{Name: name, Provider: oauth.ProviderGeneric, Grant: oauth.GrantRefreshToken,
		ClientID: "desk-" + name, TokenURL: e.TokenURL, AuthURL: e.AuthURL, DeviceAuthURL: e.DeviceAuthURL,
		Reauthorize: "run `contiple-worker mailbox authorize " + name + "`"}, store
}

func imapLogin(t *testing.T, a *oauth.Authenticator) error {
	t.Helper()
	addr := testenv.Lookup(t, "CONTIPLE_IMAP_ADDR")
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sc, _, err := a.SASL(context.Background(), c.Caps().AuthMechanisms())
	if err != nil {
		return err
	}
	return c.Authenticate(sc)
}

// Client credentials: two processes share one token, fetched once, and
// Dovecot takes it; the cached copy in Redis is sealed.
func TestClientCredentialsShared(t *testing.T) {
	t.Parallel()
	srv, rdb, user := oauthtest.New(t), newRedis(t), freshUser()
	srv.AddClient("app", "app-secret", user)
	sealer, err := oauth.NewSealer([]byte("a mask key of enough length"), oauth.SealCache)
	if err != nil {
		t.Fatal(err)
	}
	cfg := oauth.Config{Name: "cc", Provider: oauth.ProviderMicrosoft, Grant: oauth.GrantClientCredentials,
		TenantID: "contoso", ClientID: "app", ClientSecret: "app-secret", TokenURL: srv.Endpoint().TokenURL}
	var tokens []string
	for range 2 {
		s, err := oauth.NewSource(cfg, oauth.SourceOptions{Redis: rdb, Sealer: sealer})
		if err != nil {
			t.Fatal(err)
		}
		tok, err := s.Token(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		tokens = append(tokens, tok)
		if err := imapLogin(t, &oauth.Authenticator{Source: s, User: user}); err != nil {
			t.Fatalf("Dovecot refused the client-credentials token: %v", err)
		}
	}
	if tokens[0] != tokens[1] || srv.Requests(oauthtest.GrantClientCredentials) != 1 {
		t.Fatalf("two processes: %d token requests, same token %v; want one request, one token",
			srv.Requests(oauthtest.GrantClientCredentials), tokens[0] == tokens[1])
	}
	raw, err := rdb.Get(context.Background(), "contiple:oauth:{cc}:token").Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte(tokens[0][:20])) {
		t.Fatal("the access token is in Redis in clear")
	}
}

// A Google service account acting for the mailbox (JWT grant with subject).
func TestJWTGrantActsAsSubject(t *testing.T) {
	t.Parallel()
	srv, rdb, user := oauthtest.New(t), newRedis(t), freshUser()
	cfg := oauth.Config{Name: "jwt", Provider: oauth.ProviderGoogle, Grant: oauth.GrantJWT,
		ServiceAccountKey: srv.ServiceAccountKey("desk@project.iam.example"), Subject: user}
	s := process(t, cfg, rdb, nil)
	if err := imapLogin(t, &oauth.Authenticator{Source: s, User: user}); err != nil {
		t.Fatalf("Dovecot refused the service account's token for %s: %v", user, err)
	}
	if n := srv.Requests(oauthtest.GrantJWTBearer); n != 1 {
		t.Fatalf("%d JWT-bearer requests, want 1", n)
	}
}

// Two worker processes whose token is due: exactly one of them refreshes
// (the refresh token rotates, so a second refresh with the old one would
// fail), and all callers get the new token.
func TestTwoProcessesShareOneRefresh(t *testing.T) {
	t.Parallel()
	srv, rdb, user := oauthtest.New(t), newRedis(t), freshUser()
	srv.SetTTL(3 * time.Second)
	cfg, store := refreshConfig(t, srv, "shared", user)
	procs := []*oauth.Source{process(t, cfg, rdb, store), process(t, cfg, rdb, store)}
	first, err := procs[0].Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// Into the early-refresh window (the last third of the 3 s life), not past expiry.
	time.Sleep(2200 * time.Millisecond)
	var wg sync.WaitGroup
	got := make([]string, 20)
	errs := make([]error, 20)
	for i := range got {
		wg.Go(func() { got[i], errs[i] = procs[i%2].Token(context.Background()) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if n := srv.Requests(oauthtest.GrantRefreshToken); n != 2 {
		t.Fatalf("%d refresh requests, want 2 (the first token, then one refresh for both processes)", n)
	}
	// Callers that came while the refresh ran may still hold the old, valid token; the next call has the new one.
	next, err := procs[1].Token(context.Background())
	if err != nil || next == first {
		t.Fatalf("after the refresh: err %v, token changed %v", err, next != first)
	}
}

// The rotated refresh token is saved before use, so a process started later
// (the cached access token expired meanwhile) refreshes with it.
func TestRotationAcrossRestart(t *testing.T) {
	t.Parallel()
	srv, rdb, user := oauthtest.New(t), newRedis(t), freshUser()
	srv.SetTTL(2 * time.Second)
	cfg, store := refreshConfig(t, srv, "restart", user)
	initial, _ := store.Load(context.Background())
	if _, err := process(t, cfg, rdb, store).Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	rotated, _ := store.Load(context.Background())
	if rotated == "" || rotated == initial {
		t.Fatalf("refresh token after the first refresh: %q (initial %q); want a new one saved", rotated, initial)
	}
	time.Sleep(2100 * time.Millisecond) // the access token expires while "nothing runs"
	restarted := process(t, cfg, rdb, store)
	if err := imapLogin(t, &oauth.Authenticator{Source: restarted, User: user}); err != nil {
		t.Fatalf("after the restart: %v", err)
	}
	// The initial token really was voided by the rotation.
	stale := oauth.FileStore{Path: filepath.Join(t.TempDir(), "stale")}
	stale.Save(context.Background(), initial)
	cfg.Name = "restart-stale"
	if _, err := process(t, cfg, rdb, stale).Token(context.Background()); !oauth.IsAuthorizationLost(err) {
		t.Fatalf("refresh with the rotated-away token: %v, want invalid_grant", err)
	}
}

// A revoked grant: the error says what to run, and the token endpoint is
// asked once however often the processes try, until a new refresh token is
// stored (then at once).
func TestRevokedGrantStopsHammering(t *testing.T) {
	t.Parallel()
	srv, rdb, user := oauthtest.New(t), newRedis(t), freshUser()
	srv.SetTTL(time.Second)
	cfg, store := refreshConfig(t, srv, "revoked", user)
	procs := []*oauth.Source{process(t, cfg, rdb, store), process(t, cfg, rdb, store)}
	if _, err := procs[0].Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	srv.Revoke(user)
	time.Sleep(1100 * time.Millisecond)
	start := time.Now()
	var last error
	for i := range 40 { // two processes retrying every 25 ms for a second
		_, last = procs[i%2].Token(context.Background())
		if !oauth.IsAuthorizationLost(last) {
			t.Fatalf("attempt %d: %v, want a lost authorization", i, last)
		}
		time.Sleep(25 * time.Millisecond)
	}
	if n := srv.RequestsSince(start); n != 1 {
		t.Fatalf("%d token requests in %s of retries, want 1", n, time.Since(start).Round(time.Millisecond))
	}
	for _, want := range []string{"invalid_grant", "contiple-worker mailbox authorize revoked", "next attempt after"} {
		if !strings.Contains(last.Error(), want) {
			t.Errorf("error %q does not say %q", last, want)
		}
	}
	// The operator authorizes again: the next call succeeds without waiting out the pause.
	store.Save(context.Background(), srv.GrantRefreshToken(cfg.ClientID, user))
	if _, err := procs[1].Token(context.Background()); err != nil {
		t.Fatalf("after a new refresh token: %v", err)
	}
}

// A token the server refuses is dropped once, even when both processes
// report it: one new token, not two.
func TestInvalidateRefetchesOnce(t *testing.T) {
	t.Parallel()
	srv, rdb, user := oauthtest.New(t), newRedis(t), freshUser()
	cfg, store := refreshConfig(t, srv, "invalidate", user)
	procs := []*oauth.Source{process(t, cfg, rdb, store), process(t, cfg, rdb, store)}
	ctx := context.Background()
	old, err := procs[0].Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	procs[0].Invalidate(ctx, old)
	fresh, err := procs[0].Token(ctx)
	if err != nil || fresh == old {
		t.Fatalf("after Invalidate: %v, new token %v", err, fresh != old)
	}
	procs[1].Invalidate(ctx, old) // the late report of the same refusal
	again, err := procs[1].Token(ctx)
	if err != nil || again != fresh {
		t.Fatalf("a late Invalidate of the old token replaced the new one (err %v)", err)
	}
	if n := srv.Requests(oauthtest.GrantRefreshToken); n != 2 {
		t.Fatalf("%d refresh requests, want 2", n)
	}
}

// On a Redis Cluster: the shared token, its invalidation, the memory of a
// lost authorization and ForgetShared work with a login's keys in one slot.
func TestSourceOnRedisCluster(t *testing.T) {
	u, err := url.Parse(testenv.NewRedisCluster(t))
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: strings.Split(u.Host, ",")})
	t.Cleanup(func() { rdb.Close() })
	srv, user := oauthtest.New(t), freshUser()
	cfg, store := refreshConfig(t, srv, "mailbox:cluster", user)
	procs := []*oauth.Source{process(t, cfg, rdb, store), process(t, cfg, rdb, store)}
	ctx := context.Background()
	first, err := procs[0].Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := procs[1].Token(ctx); err != nil || again != first {
		t.Fatalf("the second process: %v, same token %v", err, again == first)
	}
	if err := procs[1].Invalidate(ctx, first); err != nil {
		t.Fatal(err)
	}
	srv.Revoke(user)
	if _, err := procs[0].Token(ctx); !oauth.IsAuthorizationLost(err) {
		t.Fatalf("after revocation: %v", err)
	}
	if err := oauth.ForgetShared(ctx, rdb, cfg.Name); err != nil {
		t.Fatalf("ForgetShared on the cluster: %v", err)
	}
	store.Save(ctx, srv.GrantRefreshToken(cfg.ClientID, user))
	if _, err := procs[1].Token(ctx); err != nil {
		t.Fatalf("after a new grant: %v", err)
	}
}
