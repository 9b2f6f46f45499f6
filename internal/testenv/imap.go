package testenv

import (
	"crypto/rand"
	"encoding/hex"
	"io"
	"net"
	"os"
	"strconv"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// IMAPUser is a fresh account on the local Dovecot (any name logs in, with the
// shared password) and a client logged in to it.
type IMAPUser struct {
	t                         testing.TB
	Addr, Host                string
	Port                      int
	Username, Password, Email string // Email is Username@CONTIPLE_MAIL_DOMAIN when the domain is set
	Client                    *imapclient.Client
}

// NewIMAPUser returns a new Dovecot account for one test.
func NewIMAPUser(t testing.TB) *IMAPUser {
	t.Helper()
	addr := Lookup(t, "CONTIPLE_IMAP_ADDR")
	password := Lookup(t, "CONTIPLE_IMAP_PASSWORD")
	host, portText, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("CONTIPLE_IMAP_ADDR: %v", err)
	}
	port, _ := strconv.Atoi(portText)
	b := make([]byte, 6)
	rand.Read(b)
	user := "t" + hex.EncodeToString(b)
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		t.Fatalf("dovecot: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Login(user, password).Wait(); err != nil {
		t.Fatalf("dovecot login: %v", err)
	}
	u := &IMAPUser{t: t, Addr: addr, Host: host, Port: port, Username: user, Password: password, Client: c}
	if d := os.Getenv("CONTIPLE_MAIL_DOMAIN"); d != "" {
		u.Email = user + "@" + d
	}
	return u
}

// Append stores raw in folder.
func (u *IMAPUser) Append(folder, raw string) {
	u.t.Helper()
	cmd := u.Client.Append(folder, int64(len(raw)), nil)
	if _, err := io.WriteString(cmd, raw); err != nil {
		u.t.Fatal(err)
	}
	if err := cmd.Close(); err != nil {
		u.t.Fatal(err)
	}
	if _, err := cmd.Wait(); err != nil {
		u.t.Fatal(err)
	}
}

// Flags returns the flags of every message in folder, by UID (none when the
// folder is empty or missing).
func (u *IMAPUser) Flags(folder string) map[uint32][]imap.Flag {
	u.t.Helper()
	out := map[uint32][]imap.Flag{}
	data, err := u.Client.Select(folder, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil || data.NumMessages == 0 {
		return out
	}
	msgs, err := u.Client.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{UID: true, Flags: true}).Collect()
	if err != nil {
		u.t.Fatal(err)
	}
	for _, m := range msgs {
		out[uint32(m.UID)] = m.Flags
	}
	return out
}
