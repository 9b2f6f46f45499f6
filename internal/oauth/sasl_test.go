package oauth_test

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"

	"github.com/contiple/contiple-worker/internal/oauth"
	"github.com/contiple/contiple-worker/internal/oauth/oauthtest"
	"github.com/contiple/contiple-worker/internal/testenv"
)

func freshUser() string {
	b := make([]byte, 6)
	rand.Read(b)
	return "o" + hex.EncodeToString(b) + "@example.test"
}

// The local Dovecot (scripts/services.sh) takes the test server's tokens with
// both mechanisms, and refuses an expired one or one for another mailbox.
func TestDovecotSASL(t *testing.T) {
	t.Parallel()
	addr := testenv.Lookup(t, "CONTIPLE_IMAP_ADDR")
	srv := oauthtest.New(t)
	host, portText, _ := net.SplitHostPort(addr)
	port, _ := strconv.Atoi(portText)
	user := freshUser()
	for _, tc := range []struct {
		name, mech, user, token string
		ok                      bool
	}{
		{"xoauth2", oauth.MechXOAuth2, user, srv.AccessToken(user, time.Minute), true},
		{"oauthbearer", oauth.MechOAuthBearer, user, srv.AccessToken(user, time.Minute), true},
		{"xoauth2 expired", oauth.MechXOAuth2, user, srv.AccessToken(user, -time.Minute), false},
		{"oauthbearer expired", oauth.MechOAuthBearer, user, srv.AccessToken(user, -time.Minute), false},
		{"xoauth2 other mailbox", oauth.MechXOAuth2, user, srv.AccessToken(freshUser(), time.Minute), false},
		{"xoauth2 password", oauth.MechXOAuth2, user, "secret", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := imapclient.DialInsecure(addr, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if got := oauth.PickMechanism(c.Caps().AuthMechanisms()); got != oauth.MechOAuthBearer {
				t.Fatalf("PickMechanism(Dovecot's) = %q, want OAUTHBEARER", got)
			}
			sc, err := oauth.NewSASLClient(tc.mech, tc.user, tc.token, host, port)
			if err != nil {
				t.Fatal(err)
			}
			err = c.Authenticate(sc)
			if tc.ok {
				if err != nil {
					t.Fatalf("login refused: %v", err)
				}
				if _, err := c.Select("INBOX", nil).Wait(); err != nil {
					t.Fatalf("SELECT after login: %v", err)
				}
				return
			}
			var xe *oauth.ServerError
			var be *sasl.OAuthBearerError
			if !errors.As(err, &xe) && !errors.As(err, &be) {
				t.Fatalf("login: got %v, want the server's refusal of the token", err)
			}
		})
	}
}

func TestPickMechanism(t *testing.T) {
	for _, tc := range []struct {
		offered []string
		want    string
	}{
		{[]string{"PLAIN", "XOAUTH2", "OAUTHBEARER"}, oauth.MechOAuthBearer},
		{[]string{"LOGIN", "xoauth2"}, oauth.MechXOAuth2},
		{[]string{"PLAIN", "LOGIN"}, ""},
		{nil, ""},
	} {
		if got := oauth.PickMechanism(tc.offered); got != tc.want {
			t.Errorf("PickMechanism(%q) = %q, want %q", tc.offered, got, tc.want)
		}
	}
}
