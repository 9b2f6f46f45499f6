package oauthtest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
)

// Grant types as they arrive at the token endpoint.
const (
	GrantClientCredentials = "client_credentials"
	GrantRefreshToken      = "refresh_token"
	GrantJWTBearer         = "urn:ietf:params:oauth:grant-type:jwt-bearer"
	GrantDeviceCode        = "urn:ietf:params:oauth:grant-type:device_code"
	GrantAuthorizationCode = "authorization_code"
)

// Server is the authorization server. Its zero value is not usable: call New.
type Server struct {
	URL string // base URL; see Endpoint for the paths

	key  *rsa.PrivateKey
	http *httptest.Server

	mu        sync.Mutex
	ttl       time.Duration
	clients   map[string]client         // client id → client
	refresh   map[string]grant          // live refresh token → grant
	revoked   map[string]bool           // user → every grant revoked
	accounts  map[string]*rsa.PublicKey // service account email → its public key
	devices   map[string]*device        // device code → state
	codes     map[string]authCode       // authorization code → what it grants
	authorize string                    // the user who approves at /authorize
	requests  map[string][]time.Time    // grant type → times of token requests
	issued    map[string]int            // client id → access tokens issued
}

type client struct{ secret, user string } // user: whom app-only tokens name

type grant struct{ clientID, user string }

type device struct {
	clientID, userCode, user string // user is set once approved
}

type authCode struct{ clientID, user, redirectURI, challenge string }

// TB is what New needs of a test; testing.TB has it. The package does not
// import testing, because `contiple-worker demo --oauth2` links it into the
// program.
type TB interface {
	Helper()
	Cleanup(func())
	Fatal(args ...any)
	Skip(args ...any)
}

// New starts a server for one test, signing with the services' key
// (CONTIPLE_OAUTH_SIGNING_KEY from scripts/services.sh env, else the one in
// CONTIPLE_SERVICES_DIR). Without either the test fails under CI=true and is
// skipped otherwise, as testenv.Lookup does.
func New(t TB) *Server {
	t.Helper()
	path := os.Getenv("CONTIPLE_OAUTH_SIGNING_KEY")
	if dir := os.Getenv("CONTIPLE_SERVICES_DIR"); path == "" && dir != "" {
		path = filepath.Join(dir, "oauth", "signing.pem")
	}
	if path == "" {
		msg := "CONTIPLE_OAUTH_SIGNING_KEY is not set: run `eval \"$(scripts/services.sh env)\"` after `scripts/services.sh up` (or use `make test`)"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	s, err := Start(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// Start starts a server on loopback signing with the PEM key at keyPath, for
// a program that is not a test (`contiple-worker demo --oauth2`); Close stops it.
func Start(keyPath string) (*Server, error) {
	b, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, fmt.Errorf("oauthtest: the signing key: %w (scripts/services.sh up makes it)", err)
	}
	key, err := parseRSAPrivate(b)
	if err != nil {
		return nil, fmt.Errorf("oauthtest: %s: %w", keyPath, err)
	}
	s := &Server{key: key, ttl: time.Hour, clients: map[string]client{}, refresh: map[string]grant{},
		revoked: map[string]bool{}, accounts: map[string]*rsa.PublicKey{}, devices: map[string]*device{},
		codes: map[string]authCode{}, requests: map[string][]time.Time{}, issued: map[string]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", s.token)
	mux.HandleFunc("POST /devicecode", s.deviceCode)
	mux.HandleFunc("GET /authorize", s.authorizeCode)
	s.http = httptest.NewServer(mux)
	s.URL = s.http.URL
	return s, nil
}

// Close stops the server.
func (s *Server) Close() { s.http.Close() }

// Endpoint is the server's endpoints for oauth2.Config.
func (s *Server) Endpoint() oauth2.Endpoint {
	return oauth2.Endpoint{AuthURL: s.URL + "/authorize", TokenURL: s.URL + "/token",
		DeviceAuthURL: s.URL + "/devicecode", AuthStyle: oauth2.AuthStyleInParams}
}

// SetTTL sets the lifetime of access tokens issued from now on (default 1h).
func (s *Server) SetTTL(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ttl = d
}

// AddClient registers a confidential client. Its client-credentials tokens
// name user (app-only access to that mailbox).
func (s *Server) AddClient(id, secret, user string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clients[id] = client{secret: secret, user: user}
}

// GrantRefreshToken returns a refresh token for user, as if the user had
// consented to clientID.
func (s *Server) GrantRefreshToken(clientID, user string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	rt := "rt-" + randomHex(16)
	s.refresh[rt] = grant{clientID: clientID, user: user}
	delete(s.revoked, user)
	return rt
}

// Revoke withdraws every grant of user: its refresh tokens, device and JWT
// grants answer invalid_grant from now on (access tokens already issued stay
// valid until their exp, as with real providers).
func (s *Server) Revoke(user string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.revoked[user] = true
	for rt, g := range s.refresh {
		if g.user == user {
			delete(s.refresh, rt)
		}
	}
}

// Reinstate undoes Revoke for the app-only grants (client credentials, JWT)
// of user: an administrator granted the application access again.
func (s *Server) Reinstate(user string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.revoked, user)
}

// AuthorizeAs makes the /authorize endpoint approve requests as user.
func (s *Server) AuthorizeAs(user string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.authorize = user
}

// ApproveDevice approves the device-code request showing userCode, as user.
func (s *Server) ApproveDevice(userCode, user string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range s.devices {
		if d.userCode == userCode {
			d.user = user
			return nil
		}
	}
	return fmt.Errorf("oauthtest: no device request shows %q", userCode)
}

// ApprovePending approves, as user, every device-code request still waiting
// (a person who typed the code shown), and returns how many it approved.
func (s *Server) ApprovePending(user string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, d := range s.devices {
		if d.user == "" {
			d.user = user
			n++
		}
	}
	return n
}

// ServiceAccountKey registers a Google-style service account and returns its
// JSON key file, whose token_uri points at this server.
func (s *Server) ServiceAccountKey(email string) []byte {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		panic(err)
	}
	s.mu.Lock()
	s.accounts[email] = &k.PublicKey
	s.mu.Unlock()
	b, _ := json.Marshal(map[string]string{
		"type": "service_account", "client_email": email, "private_key_id": "k1",
		"private_key": string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"token_uri":   s.URL + "/token", "client_id": "sa-" + email,
	})
	return b
}

// Requests is how many requests for grantType reached the token endpoint.
func (s *Server) Requests(grantType string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.requests[grantType])
}

// RequestsSince is how many token requests of any grant type arrived at or after t.
func (s *Server) RequestsSince(t time.Time) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, ts := range s.requests {
		for _, at := range ts {
			if !at.Before(t) {
				n++
			}
		}
	}
	return n
}

// Issued is how many access tokens the token endpoint issued to clientID
// (the JWT grant, which names no client, is not counted).
func (s *Server) Issued(clientID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issued[clientID]
}

// AccessToken mints an access token for user valid for ttl (negative: already
// expired), without any grant.
func (s *Server) AccessToken(user string, ttl time.Duration) string {
	now := time.Now()
	// exp is whole seconds, rounded up: the token lives at least the
	// expires_in the client is told (truncating would take up to a second off
	// a two-second test token, and the client's early refresh would miss it).
	exp := now.Add(ttl)
	expSec := exp.Unix()
	if exp.Nanosecond() > 0 {
		expSec++
	}
	claims := map[string]any{"iss": s.URL, "sub": user, "email": user, "iat": now.Unix(),
		"exp": expSec, "jti": randomHex(8)}
	enc := base64.RawURLEncoding
	h, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT"})
	c, _ := json.Marshal(claims)
	signed := enc.EncodeToString(h) + "." + enc.EncodeToString(c)
	sum := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPKCS1v15(rand.Reader, s.key, crypto.SHA256, sum[:])
	if err != nil {
		panic(err)
	}
	return signed + "." + enc.EncodeToString(sig)
}

// ---------------------------------------------------------------- endpoints

type oauthError struct {
	status      int
	code, about string
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeError(w, oauthError{http.StatusBadRequest, "invalid_request", err.Error()})
		return
	}
	gt := r.PostForm.Get("grant_type")
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests[gt] = append(s.requests[gt], time.Now())
	user, rt, oerr := s.grant(r, gt)
	if oerr != nil {
		writeError(w, *oerr)
		return
	}
	if gt != GrantJWTBearer {
		id, _ := clientCredentials(r)
		s.issued[id]++
	}
	resp := map[string]any{"access_token": s.AccessToken(user, s.ttl), "token_type": "Bearer",
		"expires_in": int(s.ttl.Seconds())}
	if rt != "" {
		resp["refresh_token"] = rt
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(resp)
}

// grant checks one token request (s.mu held) and returns the user the access
// token names and, for user grants, the new refresh token.
func (s *Server) grant(r *http.Request, gt string) (user, newRT string, _ *oauthError) {
	f := r.PostForm
	if gt == GrantJWTBearer {
		return s.jwtGrant(f.Get("assertion"))
	}
	clientID, secret := clientCredentials(r)
	c, known := s.clients[clientID]
	// Public clients (device code, PKCE) may leave the secret out.
	if !known || (secret != "" || gt == GrantClientCredentials) && secret != c.secret {
		return "", "", &oauthError{http.StatusUnauthorized, "invalid_client", "unknown client or wrong secret"}
	}
	rotate := func(u string) (string, string, *oauthError) {
		if s.revoked[u] {
			return "", "", &oauthError{http.StatusBadRequest, "invalid_grant", "the user revoked the grant"}
		}
		rt := "rt-" + randomHex(16)
		s.refresh[rt] = grant{clientID: clientID, user: u}
		return u, rt, nil
	}
	switch gt {
	case GrantClientCredentials:
		if s.revoked[c.user] {
			return "", "", &oauthError{http.StatusBadRequest, "invalid_grant", "consent for the application was revoked"}
		}
		return c.user, "", nil
	case GrantRefreshToken:
		g, ok := s.refresh[f.Get("refresh_token")]
		if !ok || g.clientID != clientID {
			return "", "", &oauthError{http.StatusBadRequest, "invalid_grant", "refresh token unknown, used before or revoked"}
		}
		delete(s.refresh, f.Get("refresh_token")) // rotation: each refresh token works once
		return rotate(g.user)
	case GrantDeviceCode:
		d, ok := s.devices[f.Get("device_code")]
		switch {
		case !ok:
			return "", "", &oauthError{http.StatusBadRequest, "expired_token", "unknown device code"}
		case d.user == "":
			return "", "", &oauthError{http.StatusBadRequest, "authorization_pending", "waiting for the user"}
		}
		delete(s.devices, f.Get("device_code"))
		delete(s.revoked, d.user) // a new consent
		return rotate(d.user)
	case GrantAuthorizationCode:
		ac, ok := s.codes[f.Get("code")]
		delete(s.codes, f.Get("code"))
		sum := sha256.Sum256([]byte(f.Get("code_verifier")))
		switch {
		case !ok || ac.clientID != clientID:
			return "", "", &oauthError{http.StatusBadRequest, "invalid_grant", "unknown or used code"}
		case ac.redirectURI != f.Get("redirect_uri"):
			return "", "", &oauthError{http.StatusBadRequest, "invalid_grant", "redirect_uri differs"}
		case base64.RawURLEncoding.EncodeToString(sum[:]) != ac.challenge:
			return "", "", &oauthError{http.StatusBadRequest, "invalid_grant", "PKCE verifier does not match"}
		}
		delete(s.revoked, ac.user) // a new consent
		return rotate(ac.user)
	}
	return "", "", &oauthError{http.StatusBadRequest, "unsupported_grant_type", gt}
}

// clientCredentials is how the client of a token request identified itself:
// HTTP Basic (each part form-urlencoded first, RFC 6749 2.3.1) or the form.
func clientCredentials(r *http.Request) (id, secret string) {
	id, secret, ok := r.BasicAuth()
	if !ok {
		return r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	id, _ = url.QueryUnescape(id)
	secret, _ = url.QueryUnescape(secret)
	return id, secret
}

// jwtGrant checks a service account's signed assertion (RFC 7523): the
// access token names its sub (the mailbox it acts for) or else the account.
func (s *Server) jwtGrant(assertion string) (string, string, *oauthError) {
	bad := func(why string) (string, string, *oauthError) {
		return "", "", &oauthError{http.StatusBadRequest, "invalid_grant", why}
	}
	parts := strings.Split(assertion, ".")
	if len(parts) != 3 {
		return bad("assertion is not a JWT")
	}
	var claims struct {
		Iss, Sub, Aud string
		Exp           int64
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil || json.Unmarshal(payload, &claims) != nil {
		return bad("assertion claims unreadable")
	}
	pub, ok := s.accounts[claims.Iss]
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	switch {
	case !ok:
		return bad("unknown service account")
	case rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig) != nil:
		return bad("assertion signature invalid")
	case claims.Aud != s.URL+"/token":
		return bad("assertion audience is not this token endpoint")
	case time.Unix(claims.Exp, 0).Before(time.Now()):
		return bad("assertion expired")
	}
	user := claims.Sub
	if user == "" {
		user = claims.Iss
	}
	if s.revoked[user] {
		return bad("domain-wide delegation withdrawn")
	}
	return user, "", nil
}

func (s *Server) deviceCode(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.clients[r.PostForm.Get("client_id")]; !ok {
		writeError(w, oauthError{http.StatusUnauthorized, "invalid_client", "unknown client"})
		return
	}
	code, user := "dc-"+randomHex(16), strings.ToUpper(randomHex(4))
	s.devices[code] = &device{clientID: r.PostForm.Get("client_id"), userCode: user}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"device_code": code, "user_code": user,
		"verification_uri": s.URL + "/device", "expires_in": 600, "interval": 1})
}

// authorizeCode approves at once as the AuthorizeAs user and redirects back
// with a code bound to the PKCE challenge.
func (s *Server) authorizeCode(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	redirect, err := url.Parse(q.Get("redirect_uri"))
	switch {
	case err != nil || redirect.Scheme != "http":
		http.Error(w, "bad redirect_uri", http.StatusBadRequest)
		return
	case q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "":
		http.Error(w, "PKCE with S256 is required", http.StatusBadRequest)
		return
	case s.authorize == "":
		http.Error(w, "nobody to approve: call AuthorizeAs", http.StatusForbidden)
		return
	}
	code := "ac-" + randomHex(16)
	s.codes[code] = authCode{clientID: q.Get("client_id"), user: s.authorize, redirectURI: q.Get("redirect_uri"),
		challenge: q.Get("code_challenge")}
	back := redirect.Query()
	back.Set("code", code)
	back.Set("state", q.Get("state"))
	redirect.RawQuery = back.Encode()
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

func writeError(w http.ResponseWriter, e oauthError) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.status)
	json.NewEncoder(w).Encode(map[string]string{"error": e.code, "error_description": e.about})
}

func parseRSAPrivate(b []byte) (*rsa.PrivateKey, error) {
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, errors.New("no PEM block")
	}
	if k, err := x509.ParsePKCS1PrivateKey(blk.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, err
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, errors.New("not an RSA key")
	}
	return rk, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
