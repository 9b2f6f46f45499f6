package email

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"math/big"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/google/go-cmp/cmp"

	"github.com/contiple/contiple-worker/internal/testenv"
)

// ---------------------------------------------------------------- helpers

// dovecotAccount is a fresh Dovecot user (any name logs in; its maildir is
// created on first login), so tests do not see each other's mail.
func dovecotAccount(t testing.TB) Account {
	t.Helper()
	addr := testenv.Lookup(t, "CONTIPLE_IMAP_ADDR")
	pass := testenv.Lookup(t, "CONTIPLE_IMAP_PASSWORD")
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("CONTIPLE_IMAP_ADDR %q: %v", addr, err)
	}
	port, _ := strconv.Atoi(portStr)
	return Account{
		Host: host, Port: port, TLS: TLSNone,
		Username: "imaptest" + randomHex(t, 6), Password: pass,
		Timeout: 10 * time.Second,
	}
}

func randomHex(t testing.TB, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// memServer runs go-imap's in-memory server with the given capabilities and
// one user "alice"/"pw" with an INBOX. It returns the account and a record of
// the protocol traffic.
func memServer(t testing.TB, caps imap.CapSet) (Account, *syncBuffer) {
	t.Helper()
	return memServerTLS(t, caps, TLSNone, nil)
}

// memServerTLS is memServer with implicit TLS ("tls") or STARTTLS
// ("starttls") using the certificate cert.
func memServerTLS(t testing.TB, caps imap.CapSet, mode string, cert *tls.Certificate) (Account, *syncBuffer) {
	t.Helper()
	mem := imapmemserver.New()
	user := imapmemserver.NewUser("alice", "pw")
	if err := user.Create("INBOX", nil); err != nil {
		t.Fatal(err)
	}
	mem.AddUser(user)
	traffic := &syncBuffer{}
	opts := &imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return mem.NewSession(), nil, nil
		},
		Caps:         caps,
		InsecureAuth: true,
		Logger:       log.New(io.Discard, "", 0),
		DebugWriter:  traffic,
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	switch mode {
	case TLSStartTLS:
		opts.TLSConfig = &tls.Config{Certificates: []tls.Certificate{*cert}}
		opts.InsecureAuth = false
	case TLSImplicit:
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{*cert}})
	}
	srv := imapserver.New(opts)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return Account{Host: "127.0.0.1", Port: port, TLS: mode, Username: "alice", Password: "pw", Timeout: 5 * time.Second}, traffic
}

// selfSigned makes a certificate for 127.0.0.1 and a pool that trusts it.
func selfSigned(t testing.TB) (*tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "imap test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// rawClient is a second, independent IMAP session to prepare and inspect the
// server state.
func rawClient(t testing.TB, a Account) *imapclient.Client {
	t.Helper()
	var c *imapclient.Client
	var err error
	switch a.TLS {
	case TLSStartTLS:
		c, err = imapclient.DialStartTLS(a.Addr(), &imapclient.Options{TLSConfig: a.TLSConfig})
	case TLSImplicit:
		c, err = imapclient.DialTLS(a.Addr(), &imapclient.Options{TLSConfig: a.TLSConfig})
	default:
		c, err = imapclient.DialInsecure(a.Addr(), nil)
	}
	if err != nil {
		t.Fatalf("dial %s: %v", a.Addr(), err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Login(a.Username, a.Password).Wait(); err != nil {
		t.Fatalf("login %s: %v", a.Username, err)
	}
	return c
}

// appendMails appends the messages to folder and returns their UIDs.
func appendMails(t testing.TB, a Account, folder string, mails ...[]byte) []uint32 {
	t.Helper()
	c := rawClient(t, a)
	defer c.Logout()
	if folder != "INBOX" {
		_ = c.Create(folder, nil).Wait() // may exist
	}
	var cmds []*imapclient.AppendCommand
	for i, raw := range mails {
		cmd := c.Append(folder, int64(len(raw)), &imap.AppendOptions{Time: testDate.Add(time.Duration(i) * time.Minute)})
		if _, err := cmd.Write(raw); err != nil {
			t.Fatalf("append: %v", err)
		}
		if err := cmd.Close(); err != nil {
			t.Fatalf("append: %v", err)
		}
		cmds = append(cmds, cmd)
	}
	uids := make([]uint32, len(cmds))
	for i, cmd := range cmds {
		data, err := cmd.Wait()
		if err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
		uids[i] = uint32(data.UID)
	}
	return uids
}

var testDate = time.Date(2026, 11, 24, 9, 30, 0, 0, time.FixedZone("JST", 9*3600))

// testMail is a small message with CRLF line ends (what IMAP returns), so the
// fetched bytes must equal it exactly.
func testMail(id string, bodyBytes int) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "From: Customer <customer@example.test>\r\nTo: support@example.test\r\n")
	fmt.Fprintf(&b, "Subject: =?UTF-8?B?5ZWP44GE5ZCI44KP44Gb?= %s\r\nMessage-ID: <%s@example.test>\r\n", id, id)
	fmt.Fprintf(&b, "Date: Tue, 24 Nov 2026 09:30:00 +0900\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n")
	line := "お問い合わせ本文です。 Hello " + id + "\r\n"
	for b.Len() < bodyBytes {
		b.WriteString(line)
	}
	return []byte(b.String())
}

type mailState struct {
	Flags []imap.Flag
	ID    string // Message-ID header value
}

// folderState reads UID → flags and Message-ID of every message in folder.
func folderState(t testing.TB, a Account, folder string) map[uint32]mailState {
	t.Helper()
	c := rawClient(t, a)
	defer c.Logout()
	sel, err := c.Select(folder, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		t.Fatalf("examine %s: %v", folder, err)
	}
	out := map[uint32]mailState{}
	if sel.NumMessages == 0 {
		return out
	}
	hdr := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, HeaderFields: []string{"Message-ID"}, Peek: true}
	msgs, err := c.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{UID: true, Flags: true, BodySection: []*imap.FetchItemBodySection{hdr}}).Collect()
	if err != nil {
		t.Fatalf("fetch %s: %v", folder, err)
	}
	for _, m := range msgs {
		flags := slices.DeleteFunc(slices.Clone(m.Flags), func(f imap.Flag) bool { return f == imap.Flag(`\Recent`) })
		slices.Sort(flags)
		id := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(string(m.FindBodySection(hdr))), "Message-ID:"))
		out[uint32(m.UID)] = mailState{Flags: flags, ID: id}
	}
	return out
}

func dial(t testing.TB, a Account) *Mailbox {
	t.Helper()
	m, err := Dial(t.Context(), a)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// fetchAll collects what Fetch hands out.
func fetchAll(t testing.TB, m *Mailbox, after uint32, limit int, maxBytes int64) []Fetched {
	t.Helper()
	var got []Fetched
	if err := m.Fetch(t.Context(), after, limit, maxBytes, func(f Fetched) error {
		got = append(got, f)
		return nil
	}); err != nil {
		t.Fatalf("Fetch(after %d): %v", after, err)
	}
	return got
}

func uidsOf(fs []Fetched) []uint32 {
	var out []uint32
	for _, f := range fs {
		out = append(out, f.UID)
	}
	return out
}

func withRawTLS(a Account, pool *x509.CertPool) Account {
	a.TLSConfig = &tls.Config{RootCAs: pool}
	return a
}

// ---------------------------------------------------------------- Dovecot

func TestIMAPFetchDovecot(t *testing.T) {
	t.Parallel()
	a := dovecotAccount(t)
	mails := [][]byte{testMail("one", 300), testMail("two", 2000), testMail("three", 10)}
	uids := appendMails(t, a, "INBOX", mails...)

	m := dial(t, a)
	if m.UIDValidity() == 0 {
		t.Fatal("UIDValidity = 0")
	}
	if m.UIDNext() != uids[2]+1 {
		t.Errorf("UIDNext = %d, want %d", m.UIDNext(), uids[2]+1)
	}
	if m.Messages() != 3 {
		t.Errorf("Messages = %d, want 3", m.Messages())
	}

	got := fetchAll(t, m, 0, 0, 1<<20)
	if diff := cmp.Diff(uids, uidsOf(got)); diff != "" {
		t.Fatalf("UIDs (-want +got):\n%s", diff)
	}
	for i, f := range got {
		if !bytes.Equal(f.Raw, mails[i]) {
			t.Errorf("uid %d: raw differs from what was appended (%d vs %d bytes)", f.UID, len(f.Raw), len(mails[i]))
		}
		if f.Size != int64(len(mails[i])) || f.TooLarge || f.UIDValidity != m.UIDValidity() {
			t.Errorf("uid %d: size %d too large %v uidvalidity %d", f.UID, f.Size, f.TooLarge, f.UIDValidity)
		}
		if want := testDate.Add(time.Duration(i) * time.Minute); !f.InternalDate.Equal(want) {
			t.Errorf("uid %d: internal date %v, want %v", f.UID, f.InternalDate, want)
		}
	}
	for uid, st := range folderState(t, a, "INBOX") {
		if slices.Contains(st.Flags, imap.FlagSeen) {
			t.Errorf("uid %d is \\Seen after Fetch: BODY.PEEK must not set it", uid)
		}
	}

	// Only newer UIDs; "n:*" with n above the last UID must not return the last one.
	if diff := cmp.Diff(uids[1:], uidsOf(fetchAll(t, m, uids[0], 0, 1<<20))); diff != "" {
		t.Errorf("after first (-want +got):\n%s", diff)
	}
	if got := fetchAll(t, m, uids[2], 0, 1<<20); len(got) != 0 {
		t.Errorf("after last: got UIDs %v, want none", uidsOf(got))
	}
	if diff := cmp.Diff(uids[:2], uidsOf(fetchAll(t, m, 0, 2, 1<<20))); diff != "" {
		t.Errorf("limit 2 (-want +got):\n%s", diff)
	}

	// The callback's error stops Fetch and comes back unchanged; the Mailbox stays usable.
	errStop := errors.New("database down")
	calls := 0
	err := m.Fetch(t.Context(), 0, 0, 1<<20, func(Fetched) error { calls++; return errStop })
	if !errors.Is(err, errStop) || calls != 1 || IsTemporary(err) {
		t.Errorf("callback error: err %v after %d calls", err, calls)
	}
	if got := fetchAll(t, m, 0, 0, 1<<20); len(got) != 3 {
		t.Errorf("after a callback error: %d messages, want 3", len(got))
	}
}

func TestIMAPFetchTooLarge(t *testing.T) {
	t.Parallel()
	a := dovecotAccount(t)
	big := testMail("big", 300<<10)
	mails := [][]byte{testMail("small1", 100), big, testMail("small2", 100)}
	uids := appendMails(t, a, "INBOX", mails...)
	m := dial(t, a)

	got := fetchAll(t, m, 0, 0, 64<<10)
	if diff := cmp.Diff(uids, uidsOf(got)); diff != "" {
		t.Fatalf("UIDs (-want +got):\n%s", diff)
	}
	if !got[1].TooLarge || got[1].Raw != nil || got[1].Size != int64(len(big)) {
		t.Errorf("big: TooLarge %v, Raw %d bytes, Size %d (want true, nil, %d)", got[1].TooLarge, len(got[1].Raw), got[1].Size, len(big))
	}
	for _, i := range []int{0, 2} {
		if got[i].TooLarge || !bytes.Equal(got[i].Raw, mails[i]) {
			t.Errorf("small %d: TooLarge %v, raw equal %v", i, got[i].TooLarge, bytes.Equal(got[i].Raw, mails[i]))
		}
	}
	// Many messages cross the batch limits and still come in order.
	var many [][]byte
	for i := range 450 {
		many = append(many, testMail(fmt.Sprintf("m%03d", i), 50))
	}
	moreUIDs := appendMails(t, a, "INBOX", many...)
	got = fetchAll(t, m, uids[2], 0, 0)
	if diff := cmp.Diff(moreUIDs, uidsOf(got)); diff != "" {
		t.Errorf("450 more (-want +got):\n%s", diff)
	}
}

func TestIMAPAckDovecot(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		after  string
		folder string // where acked mail must end up ("" = gone)
		flag   imap.Flag
	}{
		{after: "seen", folder: "INBOX", flag: imap.FlagSeen},
		{after: "move:Processed", folder: "Processed"},
		{after: "move:処理済み", folder: "処理済み"},
		{after: "delete"},
	} {
		t.Run(tc.after, func(t *testing.T) {
			t.Parallel()
			a := dovecotAccount(t)
			uids := appendMails(t, a, "INBOX", testMail("a-"+randomHex(t, 4), 100), testMail("b-"+randomHex(t, 4), 100), testMail("c-"+randomHex(t, 4), 100))
			before := folderState(t, a, "INBOX")
			m := dial(t, a)
			acked := []uint32{uids[0], uids[2]}
			if err := m.Ack(t.Context(), acked, tc.after); err != nil {
				t.Fatalf("Ack: %v", err)
			}
			// Acking again, and acking UIDs that never existed, is harmless.
			if err := m.Ack(t.Context(), append(acked, 9999), tc.after); err != nil {
				t.Fatalf("second Ack: %v", err)
			}

			inbox := folderState(t, a, "INBOX")
			if st := inbox[uids[1]]; len(st.Flags) != 0 || st.ID != before[uids[1]].ID {
				t.Errorf("unacked uid %d: %+v (want untouched)", uids[1], st)
			}
			for _, uid := range acked {
				st, ok := inbox[uid]
				switch {
				case tc.folder == "INBOX":
					if !ok || !slices.Contains(st.Flags, tc.flag) {
						t.Errorf("uid %d in INBOX: %+v, want flag %s", uid, st, tc.flag)
					}
				case ok:
					t.Errorf("uid %d still in INBOX: %+v", uid, st)
				}
			}
			if tc.folder != "" && tc.folder != "INBOX" {
				var ids []string
				for _, st := range folderState(t, a, tc.folder) {
					ids = append(ids, st.ID)
				}
				slices.Sort(ids)
				want := []string{before[uids[0]].ID, before[uids[2]].ID}
				slices.Sort(want)
				if diff := cmp.Diff(want, ids); diff != "" {
					t.Errorf("%s holds (-want +got):\n%s", tc.folder, diff)
				}
			}
		})
	}
}

func TestIMAPAckRefusesBadAfter(t *testing.T) {
	t.Parallel()
	a := dovecotAccount(t)
	m := dial(t, a)
	for _, after := range []string{"", "flag", "move:", "move:INBOX", "move:inbox"} {
		err := m.Ack(t.Context(), []uint32{1}, after)
		if err == nil || IsTemporary(err) {
			t.Errorf("Ack(%q) = %v, want a permanent error", after, err)
		}
	}
}

func TestIMAPWaitIdleDovecot(t *testing.T) {
	t.Parallel()
	a := dovecotAccount(t)
	appendMails(t, a, "INBOX", testMail("first", 10))
	m := dial(t, a)
	if !m.HasCap("IDLE") {
		t.Fatal("Dovecot should offer IDLE")
	}
	seen := fetchAll(t, m, 0, 0, 0)
	last := seen[len(seen)-1].UID

	// Dovecot may delay logins from 127.0.0.1 while other tests fail theirs
	// on purpose, so the latency is measured from the end of the APPEND.
	appended := make(chan time.Time, 1)
	go func() {
		time.Sleep(300 * time.Millisecond)
		appendMails(t, a, "INBOX", testMail("second", 10))
		appended <- time.Now()
	}()
	if err := m.Wait(t.Context(), time.Minute); err != nil {
		t.Fatalf("Wait: %v", err)
	}
	returned := time.Now()
	at := <-appended
	t.Logf("Wait returned %v after the APPEND completed", returned.Sub(at))
	if returned.Sub(at) > 3*time.Second {
		t.Errorf("Wait returned %v after new mail was appended; IDLE should take about a second", returned.Sub(at))
	}
	if got := fetchAll(t, m, last, 0, 0); len(got) != 1 {
		t.Errorf("after Wait: %d new messages, want 1", len(got))
	}
}

func TestIMAPWaitPollAndCancel(t *testing.T) {
	t.Parallel()
	a := dovecotAccount(t)
	m := dial(t, a)
	fetchAll(t, m, 0, 0, 0)

	start := time.Now()
	if err := m.Wait(t.Context(), 700*time.Millisecond); err != nil {
		t.Fatalf("Wait: %v", err)
	}
	if d := time.Since(start); d < 600*time.Millisecond || d > 5*time.Second {
		t.Errorf("Wait with nothing happening took %v, want about the poll interval (700ms)", d)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	start = time.Now()
	if err := m.Wait(ctx, time.Minute); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait with an expiring ctx = %v, want DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Wait ignored ctx for %v", d)
	}
	// IDLE was ended properly: the connection still works.
	appendMails(t, a, "INBOX", testMail("later", 10))
	if got := fetchAll(t, m, 0, 0, 0); len(got) != 1 {
		t.Errorf("after a cancelled Wait: %d messages, want 1", len(got))
	}
}

func TestIMAPCloseInterruptsWait(t *testing.T) {
	t.Parallel()
	a := dovecotAccount(t)
	m := dial(t, a)
	errc := make(chan error, 1)
	go func() { errc <- m.Wait(context.Background(), time.Minute) }()
	time.Sleep(300 * time.Millisecond)
	start := time.Now()
	if err := m.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	select {
	case err := <-errc:
		if err == nil {
			t.Error("Wait returned nil after Close")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not interrupt Wait")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Close took %v", d)
	}
	if err := m.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestIMAPWrongPassword(t *testing.T) {
	t.Parallel()
	a := dovecotAccount(t)
	a.Password = "wr0ng-Pa55word-" + randomHex(t, 4)
	_, err := Dial(t.Context(), a)
	if err == nil {
		t.Fatal("Dial with a wrong password succeeded")
	}
	msg := err.Error()
	t.Log(msg)
	for _, want := range []string{a.Username, a.Addr(), "INBOX", "login"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not name %q", msg, want)
		}
	}
	if strings.Contains(msg, a.Password) {
		t.Errorf("error contains the password: %q", msg)
	}
	if IsTemporary(err) {
		t.Errorf("a wrong password must be a permanent error: %v", err)
	}
}

func TestIMAPDialErrors(t *testing.T) {
	t.Parallel()
	a := dovecotAccount(t)

	missing := a
	missing.Folder = "NoSuchFolder"
	if _, err := Dial(t.Context(), missing); err == nil || IsTemporary(err) || !strings.Contains(err.Error(), "NoSuchFolder") {
		t.Errorf("missing folder: %v, want a permanent error naming the folder", err)
	}

	refused := a
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused.Port = ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	if _, err := Dial(t.Context(), refused); err == nil || !IsTemporary(err) {
		t.Errorf("connection refused: %v, want a temporary error", err)
	}

	bad := a
	bad.TLS = "ssl3"
	if _, err := Dial(t.Context(), bad); err == nil || IsTemporary(err) || !strings.Contains(err.Error(), "ssl3") {
		t.Errorf("bad tls mode: %v, want a permanent config error", err)
	}

	// A server that accepts but never greets: Dial gives up after Timeout.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	mute := a
	mute.Port = silent.Addr().(*net.TCPAddr).Port
	mute.Timeout = 500 * time.Millisecond
	start := time.Now()
	if _, err := Dial(t.Context(), mute); err == nil || !IsTemporary(err) {
		t.Errorf("silent server: %v, want a temporary error", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("silent server: Dial took %v with Timeout 500ms", d)
	}
}

func TestIMAPUIDValidityStable(t *testing.T) {
	t.Parallel()
	a := dovecotAccount(t)
	appendMails(t, a, "INBOX", testMail("x", 10))
	m1 := dial(t, a)
	v := m1.UIDValidity()
	m1.Close()
	m2 := dial(t, a)
	if m2.UIDValidity() != v {
		t.Errorf("UIDVALIDITY changed across reconnects: %d then %d", v, m2.UIDValidity())
	}
	// A closed Mailbox refuses work instead of hanging.
	if err := m1.Fetch(t.Context(), 0, 0, 0, func(Fetched) error { return nil }); err == nil {
		t.Error("Fetch on a closed Mailbox succeeded")
	}
}

// Dovecot without MOVE and UIDPLUS (hidden from the client): Ack falls back
// to COPY + \Deleted + EXPUNGE.
func TestIMAPAckWithoutMoveDovecot(t *testing.T) {
	t.Parallel()
	a := dovecotAccount(t)
	uids := appendMails(t, a, "INBOX", testMail("p", 10), testMail("q", 10))
	a.DialContext = hideCaps("MOVE", "UIDPLUS")
	m := dial(t, a)
	if m.HasCap("MOVE") || m.HasCap("UIDPLUS") {
		t.Fatal("capabilities were not hidden")
	}
	if err := m.Ack(t.Context(), uids[:1], "move:Done"); err != nil {
		t.Fatalf("Ack: %v", err)
	}
	if _, ok := folderState(t, a, "INBOX")[uids[0]]; ok {
		t.Error("moved message still in INBOX")
	}
	if n := len(folderState(t, a, "Done")); n != 1 {
		t.Errorf("Done holds %d messages, want 1", n)
	}
	if err := m.Ack(t.Context(), uids[1:], "delete"); err != nil {
		t.Fatalf("Ack delete: %v", err)
	}
	if n := len(folderState(t, a, "INBOX")); n != 0 {
		t.Errorf("INBOX holds %d messages after delete, want 0", n)
	}
}

// ---------------------------------------------------------------- in-memory server

func TestIMAPMemServerWithoutMoveOrUIDPlus(t *testing.T) {
	t.Parallel()
	a, traffic := memServer(t, imap.CapSet{imap.CapIMAP4rev1: {}})
	appendMails(t, a, "INBOX", testMail("a", 10), testMail("b", 10), testMail("c", 10))
	m := dial(t, a)
	if m.HasCap("MOVE") || m.HasCap("UIDPLUS") {
		t.Fatal("server should offer neither MOVE nor UIDPLUS")
	}
	uids := uidsOf(fetchAll(t, m, 0, 0, 0))
	if len(uids) != 3 {
		t.Fatalf("Fetch: %d messages, want 3", len(uids))
	}
	if err := m.Ack(t.Context(), uids[:2], "move:Archive/Done"); err != nil {
		t.Fatalf("Ack move: %v", err)
	}
	if diff := cmp.Diff([]uint32{uids[2]}, mapKeys(folderState(t, a, "INBOX"))); diff != "" {
		t.Errorf("INBOX after move (-want +got):\n%s", diff)
	}
	if n := len(folderState(t, a, "Archive/Done")); n != 2 {
		t.Errorf("Archive/Done holds %d, want 2", n)
	}
	if s := traffic.String(); strings.Contains(s, "UID MOVE") || !strings.Contains(s, "UID COPY") {
		t.Errorf("expected the COPY fallback, traffic:\n%s", s)
	}
}

func TestIMAPMemServerPollsWithoutIdle(t *testing.T) {
	t.Parallel()
	a, traffic := memServer(t, imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapUIDPlus: {}, imap.CapMove: {}})
	a.DialContext = hideCaps("IDLE")
	m := dial(t, a)
	if m.HasCap("IDLE") {
		t.Fatal("IDLE was not hidden")
	}
	appendMails(t, a, "INBOX", testMail("a", 10))
	start := time.Now()
	if err := m.Wait(t.Context(), 400*time.Millisecond); err != nil {
		t.Fatalf("Wait: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Wait took %v", d)
	}
	if got := fetchAll(t, m, 0, 0, 0); len(got) != 1 {
		t.Errorf("Fetch after polling: %d, want 1", len(got))
	}
	if strings.Contains(traffic.String(), " IDLE\r\n") {
		t.Error("IDLE was sent to a server that does not offer it")
	}
	// With IDLE offered but Account.NoIdle set, Wait polls as well.
	b, traffic2 := memServer(t, nil)
	b.NoIdle = true
	m2 := dial(t, b)
	if err := m2.Wait(t.Context(), 200*time.Millisecond); err != nil {
		t.Fatalf("Wait NoIdle: %v", err)
	}
	if strings.Contains(traffic2.String(), " IDLE\r\n") || !strings.Contains(traffic2.String(), " NOOP\r\n") {
		t.Errorf("NoIdle: want NOOP and no IDLE, traffic:\n%s", traffic2.String())
	}
}

func TestIMAPTLSModes(t *testing.T) {
	t.Parallel()
	cert, pool := selfSigned(t)
	for _, mode := range []string{TLSStartTLS, TLSImplicit} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			a, traffic := memServerTLS(t, nil, mode, cert)
			appendMails(t, withRawTLS(a, pool), "INBOX", testMail("tls", 10))
			a.TLSConfig = &tls.Config{RootCAs: pool}
			m := dial(t, a)
			if got := fetchAll(t, m, 0, 0, 0); len(got) != 1 {
				t.Errorf("Fetch over %s: %d messages, want 1", mode, len(got))
			}
			if mode == TLSStartTLS && !strings.Contains(traffic.String(), "STARTTLS") {
				t.Error("STARTTLS was not used")
			}

			// A certificate nobody vouches for is a permanent error.
			a.TLSConfig = nil
			_, err := Dial(t.Context(), a)
			if err == nil || IsTemporary(err) || !strings.Contains(err.Error(), "imap tls") {
				t.Errorf("untrusted certificate: %v, want a permanent tls error", err)
			}
		})
	}
}

func TestIMAPConnectionDroppedMidFetch(t *testing.T) {
	t.Parallel()
	a, _ := memServer(t, nil)
	appendMails(t, a, "INBOX", testMail("a", 10), testMail("big", 200<<10), testMail("c", 10))
	cut := &cutter{}
	a.DialContext = cut.dial
	m := dial(t, a)
	cut.after(30 << 10) // the big body is cut short

	start := time.Now()
	var got []Fetched
	err := m.Fetch(t.Context(), 0, 0, 0, func(f Fetched) error { got = append(got, f); return nil })
	if err == nil {
		t.Fatal("Fetch over a dropped connection succeeded")
	}
	if !IsTemporary(err) {
		t.Errorf("dropped connection: %v, want a temporary error", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Fetch took %v to notice the dropped connection", d)
	}
	for _, f := range got {
		if f.UID > 1 {
			t.Errorf("uid %d handed out although its batch was cut", f.UID)
		}
	}
	if err := m.Ack(t.Context(), []uint32{1}, "seen"); err == nil {
		t.Error("Ack on a dead connection succeeded")
	}
}

func TestIMAPStalledServerHonoursContext(t *testing.T) {
	t.Parallel()
	a, _ := memServer(t, nil)
	appendMails(t, a, "INBOX", testMail("big", 200<<10))
	st := &cutter{stall: true}
	a.DialContext = st.dial
	m := dial(t, a)
	st.after(20 << 10)

	ctx, cancel := context.WithTimeout(t.Context(), 700*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := m.Fetch(ctx, 0, 0, 0, func(Fetched) error { return nil })
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("stalled server: %v, want DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Fetch took %v on a stalled server with a 700ms ctx", d)
	}
}

// hideCaps removes capabilities from what the server announces (a test-only
// man in the middle; message bodies here never contain "CAPABILITY").
func hideCaps(names ...string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &capFilterConn{Conn: c, r: bufio.NewReader(c), hide: names}, nil
	}
}

type capFilterConn struct {
	net.Conn
	r       *bufio.Reader
	pending []byte
	hide    []string
}

func (c *capFilterConn) Read(p []byte) (int, error) {
	if len(c.pending) == 0 {
		line, err := c.r.ReadBytes('\n')
		if len(line) == 0 {
			return 0, err
		}
		if bytes.Contains(line, []byte("CAPABILITY")) {
			words := strings.Fields(strings.TrimRight(string(line), "\r\n"))
			words = slices.DeleteFunc(words, func(w string) bool {
				return slices.ContainsFunc(c.hide, func(h string) bool { return strings.EqualFold(strings.TrimSuffix(w, "]"), h) })
			})
			line = []byte(strings.Join(words, " ") + "\r\n")
		}
		c.pending = line
	}
	n := copy(p, c.pending)
	c.pending = c.pending[n:]
	return n, nil
}

// cutter drops (or, with stall, silently freezes) the connection once armed
// and n more bytes have been read.
type cutter struct {
	stall  bool
	mu     sync.Mutex
	conn   net.Conn
	budget atomic.Int64
	armed  atomic.Bool
}

func (c *cutter) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	conn, err := (&net.Dialer{}).DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return &cutConn{Conn: conn, c: c}, nil
}

func (c *cutter) after(n int64) { c.budget.Store(n); c.armed.Store(true) }

type cutConn struct {
	net.Conn
	c *cutter
}

func (cc *cutConn) Read(p []byte) (int, error) {
	if !cc.c.armed.Load() {
		return cc.Conn.Read(p)
	}
	left := cc.c.budget.Load()
	if left <= 0 {
		if cc.c.stall {
			// Freeze until the client gives up and closes the connection.
			buf := make([]byte, 1)
			for {
				cc.Conn.SetReadDeadline(time.Time{})
				if _, err := cc.Conn.Read(buf[:0]); err != nil {
					return 0, err
				}
				time.Sleep(10 * time.Millisecond)
			}
		}
		cc.Conn.Close()
		return 0, io.ErrUnexpectedEOF
	}
	if int64(len(p)) > left {
		p = p[:left]
	}
	n, err := cc.Conn.Read(p)
	cc.c.budget.Add(-int64(n))
	return n, err
}

func mapKeys(m map[uint32]mailState) []uint32 {
	var out []uint32
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// ---------------------------------------------------------------- pure parts

func TestParseAfter(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, after, folder string
		ok                bool
	}{
		{"seen", "seen", "", true},
		{" Seen ", "seen", "", true},
		{"delete", "delete", "", true},
		{"move:Processed", "move", "Processed", true},
		{"move:INBOX/処理済み", "move", "INBOX/処理済み", true},
		{"move:", "", "", false},
		{"move", "", "", false},
		{"move: ", "", "", false},
		{"seen:x", "", "", false},
		{"flag", "", "", false},
		{"", "", "", false},
		{"move:a\nb", "", "", false},
	} {
		after, folder, err := ParseAfter(tc.in)
		if (err == nil) != tc.ok || after != tc.after || folder != tc.folder {
			t.Errorf("ParseAfter(%q) = %q, %q, %v", tc.in, after, folder, err)
		}
	}
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	b := Backoff{Min: 100 * time.Millisecond, Max: time.Second}
	wantMax := []time.Duration{100, 200, 400, 800, 1000, 1000, 1000}
	for i, w := range wantMax {
		w *= time.Millisecond
		d := b.Next()
		if d < w/2 || d > w {
			t.Errorf("attempt %d: %v, want within [%v, %v]", i, d, w/2, w)
		}
	}
	b.Reset()
	if d := b.Next(); d > 100*time.Millisecond {
		t.Errorf("after Reset: %v", d)
	}
	var zero Backoff
	if d := zero.Next(); d < 500*time.Millisecond || d > time.Second {
		t.Errorf("zero value first delay %v, want 0.5–1s", d)
	}
	for range 100 {
		zero.Next()
	}
	if d := zero.Next(); d > 5*time.Minute || d < 150*time.Second {
		t.Errorf("zero value cap: %v", d)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := zero.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Wait on a cancelled ctx = %v", err)
	}
}

func TestAccountNeverShowsPassword(t *testing.T) {
	t.Parallel()
	a := Account{Host: "imap.example.test", Username: "support", Password: "hunter2-secret", TLSConfig: nil}
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("dial", "account", a)
	for _, s := range []string{fmt.Sprint(a), fmt.Sprintf("%+v", a), a.String(), logged.String()} {
		if strings.Contains(s, "hunter2") {
			t.Errorf("password shown: %s", s)
		}
		if !strings.Contains(s, "support") {
			t.Errorf("user missing: %s", s)
		}
	}
	if a.Addr() != "imap.example.test:993" {
		t.Errorf("default port for tls: %s", a.Addr())
	}
	if err := (Account{Host: "h", Username: "u", Password: "p", TLS: "none"}).Validate(); err != nil {
		t.Errorf("valid account: %v", err)
	}
	if err := (Account{}).Validate(); err == nil || strings.Contains(err.Error(), "%!") {
		t.Errorf("empty account: %v", err)
	}
}

// ---------------------------------------------------------------- benchmark

// BenchmarkIMAPFetch fetches 1,000 small mails (about 1.5 KB) from Dovecot
// per iteration over one connection and reports messages per second.
func BenchmarkIMAPFetch(b *testing.B) {
	a := dovecotAccount(b)
	const n = 1000
	mails := make([][]byte, n)
	var total int
	for i := range mails {
		mails[i] = testMail(fmt.Sprintf("bench-%04d", i), 1500)
		total += len(mails[i])
	}
	for i := 0; i < n; i += 250 {
		appendMails(b, a, "INBOX", mails[i:i+250]...)
	}
	m := dial(b, a)
	b.ResetTimer()
	for range b.N {
		count := 0
		if err := m.Fetch(b.Context(), 0, 0, 0, func(f Fetched) error { count++; return nil }); err != nil {
			b.Fatal(err)
		}
		if count != n {
			b.Fatalf("fetched %d, want %d", count, n)
		}
	}
	secs := b.Elapsed().Seconds()
	b.ReportMetric(float64(n*b.N)/secs, "msgs/s")
	b.ReportMetric(float64(total*b.N)/secs/1e6, "MB/s")
}
