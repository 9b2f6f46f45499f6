package email

// IMAP intake: one Mailbox is one authenticated connection with one folder
// selected. The adapter keeps no state beyond the connection: the caller (the
// mail:poll job) stores UIDVALIDITY and the highest UID it has committed, asks
// Fetch for what comes after, and calls Ack once the tickets are committed.
//
// A typical loop:
//
//	var bo email.Backoff
//	for ctx.Err() == nil {
//		mb, err := email.Dial(ctx, acct)
//		if err != nil { log; bo.Wait(ctx); continue }
//		if mb.UIDValidity() != stored.UIDValidity { rescan from UID 0 (see Mailbox.UIDValidity) }
//		for err == nil {
//			// storeRawAndEnqueue: INSERT … ON CONFLICT (mailbox, uidvalidity, uid) DO NOTHING, enqueue mail:ingest
//			err = mb.Fetch(ctx, stored.LastUID, 500, maxBytes, storeRawAndEnqueue)
//			// the UIDs whose tickets have committed since the last round
//			if err == nil { err = mb.Ack(ctx, committedUIDs(), cfg.After) }
//			if err == nil { bo.Reset(); err = mb.Wait(ctx, cfg.PollInterval) }
//		}
//		mb.Close()
//		bo.Wait(ctx)
//	}

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// TLS modes of Account.TLS.
const (
	TLSNone     = "none"     // plain text: loopback and tests only
	TLSStartTLS = "starttls" // plain connect, then STARTTLS before login
	TLSImplicit = "tls"      // TLS from the first byte (port 993)
)

// Ack modes, as returned by ParseAfter.
const (
	AfterSeen   = "seen"   // set \Seen
	AfterMove   = "move"   // move to a folder (created if missing)
	AfterDelete = "delete" // set \Deleted and expunge
)

// Defaults applied by Dial and Fetch.
const (
	DefaultTimeout  = 30 * time.Second
	DefaultMaxBytes = 50 << 20 // Fetch's maxBytes when it is <= 0
	DefaultPoll     = 30 * time.Second

	fetchBatchBytes    = 8 << 20 // bodies held in memory per UID FETCH
	fetchBatchMessages = 200
	uidsPerCommand     = 1000     // keeps command lines far below server limits
	minTransferRate    = 32 << 10 // bytes/s below which a body download times out
	// SpoolOver is the size above which a fetched message goes to a spool
	// file instead of memory (Fetched.Spool).
	SpoolOver = 1 << 20
)

// Account says how to reach one IMAP mailbox.
type Account struct {
	Host string
	Port int    // 0: 993 for TLS "tls", 143 otherwise
	TLS  string // none | starttls | tls; "" means tls
	// Username and Password log in with AUTHENTICATE PLAIN when the server
	// offers it, else with LOGIN. The password is never logged or put in an
	// error; Account's String and LogValue leave it out.
	Username, Password string
	// Auth, when set, logs Username in with a token instead of Password
	// (OAuth2: XOAUTH2 or OAUTHBEARER, see imap_auth.go).
	Auth   Authenticator
	Folder string // "" means INBOX
	// Timeout bounds connecting (TCP, TLS, greeting, login, SELECT) and every
	// command round trip except the transfer of message bodies, which is
	// bounded by the client's own read timeouts and by ctx. 0 means DefaultTimeout.
	Timeout time.Duration
	// NoIdle makes Wait poll even when the server offers IDLE (config `idle: false`).
	NoIdle bool
	// TLSConfig is optional (tests, private CAs). ServerName defaults to Host.
	TLSConfig *tls.Config
	// DialContext is optional; tests use it to inject faults. Default: net.Dialer.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Addr is host:port after defaults.
func (a Account) Addr() string {
	a = a.withDefaults()
	return net.JoinHostPort(a.Host, strconv.Itoa(a.Port))
}

// String describes the account without its password.
func (a Account) String() string {
	a = a.withDefaults()
	return fmt.Sprintf("imap://%s@%s/%s (tls=%s)", a.Username, a.Addr(), a.Folder, a.TLS)
}

// LogValue lets slog print an Account without its password.
func (a Account) LogValue() slog.Value {
	a = a.withDefaults()
	return slog.GroupValue(
		slog.String("addr", a.Addr()),
		slog.String("user", a.Username),
		slog.String("folder", a.Folder),
		slog.String("tls", a.TLS),
	)
}

func (a Account) withDefaults() Account {
	if a.TLS == "" {
		a.TLS = TLSImplicit
	}
	a.TLS = strings.ToLower(a.TLS)
	if a.Port == 0 {
		a.Port = 143
		if a.TLS == TLSImplicit {
			a.Port = 993
		}
	}
	if a.Folder == "" {
		a.Folder = "INBOX"
	}
	if a.Timeout <= 0 {
		a.Timeout = DefaultTimeout
	}
	return a
}

// Validate reports configuration mistakes without connecting.
func (a Account) Validate() error {
	a = a.withDefaults()
	var problems []string
	if a.Host == "" {
		problems = append(problems, "host is empty")
	}
	if a.Port < 1 || a.Port > 65535 {
		problems = append(problems, fmt.Sprintf("port %d is out of range", a.Port))
	}
	switch a.TLS {
	case TLSNone, TLSStartTLS, TLSImplicit:
	default:
		problems = append(problems, fmt.Sprintf("tls %q is not one of none, starttls, tls", a.TLS))
	}
	if a.Username == "" {
		problems = append(problems, "username is empty")
	}
	if a.Password == "" && a.Auth == nil {
		problems = append(problems, "password is empty")
	}
	if err := validFolder(a.Folder); err != nil {
		problems = append(problems, err.Error())
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s", errConfig, strings.Join(problems, "; "))
	}
	return nil
}

func validFolder(name string) error {
	if strings.TrimSpace(name) == "" {
		return errors.New("folder name is empty")
	}
	if strings.ContainsFunc(name, unicode.IsControl) {
		return fmt.Errorf("folder name %q contains control characters", name)
	}
	return nil
}

// ParseAfter validates a mailbox's `after` setting: "seen", "delete" or
// "move:FOLDER". It returns the mode (AfterSeen, AfterMove, AfterDelete) and,
// for move, the folder.
func ParseAfter(s string) (after string, folder string, err error) {
	s = strings.TrimSpace(s)
	mode, rest, hasColon := strings.Cut(s, ":")
	switch strings.ToLower(mode) {
	case AfterSeen, AfterDelete:
		if hasColon {
			return "", "", fmt.Errorf("%w: after %q: %s takes no folder", errConfig, s, strings.ToLower(mode))
		}
		return strings.ToLower(mode), "", nil
	case AfterMove:
		if err := validFolder(rest); err != nil || !hasColon {
			return "", "", fmt.Errorf("%w: after %q: want move:FOLDER with a folder name", errConfig, s)
		}
		return AfterMove, rest, nil
	}
	return "", "", fmt.Errorf("%w: after %q: want seen, delete or move:FOLDER", errConfig, s)
}

// Fetched is one message handed to Fetch's callback.
type Fetched struct {
	UIDValidity  uint32 // with UID, the idempotency key of the message
	UID          uint32
	Size         int64     // RFC822.SIZE as the server reports it
	InternalDate time.Time // when the server received it
	// Raw holds the exact message bytes, read with BODY.PEEK[] so \Seen is not
	// set. It is nil when TooLarge, and for a message larger than SpoolOver,
	// whose bytes are in Spool instead.
	Raw []byte
	// Spool holds a large message's bytes, from its start: a temporary file,
	// already unlinked, that Fetch closes once the callback returns.
	Spool *os.File
	// TooLarge is set when Size is above Fetch's maxBytes: the body was not
	// downloaded (the caller quarantines the message by UID and size).
	TooLarge bool
}

// Mailbox is one logged-in connection with its folder selected. Use it from
// one goroutine at a time; Close may be called from any goroutine and
// interrupts a blocked call. After an error from Fetch, Ack or Wait (other
// than one returned by the Fetch callback), Close it and Dial again.
type Mailbox struct {
	acct        Account // Password cleared after login
	c           *imapclient.Client
	uidValidity uint32
	uidNext     uint32
	selected    uint32 // message count at SELECT
	caps        imap.CapSet
	newMail     chan struct{} // signalled by unilateral EXISTS, capacity 1
	created     map[string]bool

	mu        sync.Mutex
	busy      int
	closing   bool
	closeOnce sync.Once
	closeErr  error
}

// Dial connects (plain, STARTTLS or TLS), logs in and selects the folder.
// A token the server refuses is reported to the Authenticator and Dial tries
// once more with a fresh one.
func Dial(ctx context.Context, a Account) (*Mailbox, error) {
	m, err := dialOnce(ctx, a)
	if rejected := tokenRefused(err); rejected != nil && ctx.Err() == nil {
		rejected(ctx)
		m, err = dialOnce(ctx, a)
	}
	return m, err
}

func dialOnce(ctx context.Context, a Account) (*Mailbox, error) {
	a = a.withDefaults()
	m := &Mailbox{acct: a, newMail: make(chan struct{}, 1), created: map[string]bool{}}
	m.acct.Password = ""
	if err := a.Validate(); err != nil {
		return nil, m.wrap("config", err)
	}
	ctx, cancel := context.WithTimeout(ctx, a.Timeout)
	defer cancel()

	dial := a.DialContext
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	rawConn, err := dial(ctx, "tcp", a.Addr())
	if err != nil {
		return nil, m.wrap("dial", err)
	}
	// Until Dial returns, the deadline or a cancelled ctx closes the connection,
	// which unblocks whatever the client is waiting for.
	stop := context.AfterFunc(ctx, func() { rawConn.Close() })
	defer stop()
	conn := rawConn
	fail := func(op string, err error) (*Mailbox, error) {
		rawConn.Close()
		if m.c != nil {
			m.c.Close()
		}
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		return nil, m.wrap(op, err)
	}

	tlsConfig := &tls.Config{}
	if a.TLSConfig != nil {
		tlsConfig = a.TLSConfig.Clone()
	}
	if tlsConfig.ServerName == "" {
		tlsConfig.ServerName = a.Host
	}
	opts := &imapclient.Options{
		TLSConfig: tlsConfig,
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			// Runs on the client's reader goroutine: must not block.
			Mailbox: func(d *imapclient.UnilateralDataMailbox) {
				if d.NumMessages != nil {
					select {
					case m.newMail <- struct{}{}:
					default:
					}
				}
			},
			// Sequence numbers shift on EXPUNGE; the client keeps the message
			// count, and this adapter addresses messages by UID only.
			Expunge: func(uint32) {},
		},
	}
	switch a.TLS {
	case TLSImplicit:
		tc := tls.Client(conn, tlsConfig)
		if err := tc.HandshakeContext(ctx); err != nil {
			return fail("tls", err)
		}
		conn = tc
		m.c = imapclient.New(conn, opts)
	case TLSStartTLS:
		c, err := imapclient.NewStartTLS(conn, opts)
		if err != nil {
			return fail("tls", err)
		}
		m.c = c
	default:
		m.c = imapclient.New(conn, opts)
	}
	if err := m.c.WaitGreeting(); err != nil {
		return fail("greeting", err)
	}

	if op, err := m.login(ctx, a); err != nil {
		return fail(op, err)
	}

	sel, err := m.c.Select(a.Folder, nil).Wait()
	if err != nil {
		return fail("select", err)
	}
	if sel.UIDValidity == 0 {
		return fail("select", errors.New("server sent no UIDVALIDITY"))
	}
	m.uidValidity = sel.UIDValidity
	m.uidNext = uint32(sel.UIDNext)
	m.selected = sel.NumMessages
	m.caps = m.c.Caps()
	if m.caps == nil {
		return fail("select", errors.New("could not read the server's capabilities"))
	}
	return m, nil
}

// UIDValidity is the folder's UIDVALIDITY at SELECT. UIDs are only
// meaningful together with it. When it differs from the value the caller
// stored, the server has renumbered the folder: every stored UID is void, so
// the caller must fetch again from UID 0 and recognise mail it already has by
// content (Message-ID + hash), then store the new UIDVALIDITY. The adapter
// never decides this itself.
func (m *Mailbox) UIDValidity() uint32 { return m.uidValidity }

// UIDNext is the folder's UIDNEXT at SELECT (0 if the server did not say):
// every message that arrives later gets a UID >= UIDNext.
func (m *Mailbox) UIDNext() uint32 { return m.uidNext }

// Messages is the number of messages in the folder as last reported by the
// server (kept current by unilateral EXISTS/EXPUNGE), e.g. for a metric.
func (m *Mailbox) Messages() uint32 {
	// imapclient records the selected mailbox just after SELECT's Wait returns.
	if mb := m.c.Mailbox(); mb != nil {
		return mb.NumMessages
	}
	return m.selected
}

// HasCap reports whether the server offers a capability ("IDLE", "MOVE",
// "UIDPLUS"…), as it said after login.
func (m *Mailbox) HasCap(name string) bool { return m.caps.Has(imap.Cap(strings.ToUpper(name))) }

// enter marks a public call in progress; Close skips LOGOUT then, since a
// command (IDLE above all) may hold the connection.
func (m *Mailbox) enter(op string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closing {
		return m.wrap(op, net.ErrClosed)
	}
	m.busy++
	return nil
}

func (m *Mailbox) leave() {
	m.mu.Lock()
	m.busy--
	m.mu.Unlock()
}

// Close logs out (when idle; waiting at most a second) and closes the
// connection. It is safe to call more than once and from another goroutine,
// where it interrupts a blocked Fetch, Ack or Wait.
func (m *Mailbox) Close() error {
	m.closeOnce.Do(func() {
		m.mu.Lock()
		m.closing = true
		busy := m.busy > 0
		m.mu.Unlock()
		if !busy {
			done := make(chan struct{})
			go func() {
				defer close(done)
				_ = m.c.Logout().Wait()
			}()
			select {
			case <-done:
			case <-time.After(time.Second):
			}
		}
		if err := m.c.Close(); err != nil && !errors.Is(err, net.ErrClosed) && !errors.Is(err, io.ErrUnexpectedEOF) {
			m.closeErr = m.wrap("close", err)
		}
	})
	return m.closeErr
}

func (m *Mailbox) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return &Error{
		Op:        op,
		Addr:      m.acct.Addr(),
		User:      m.acct.Username,
		Folder:    m.acct.Folder,
		Temporary: classify(op, err),
		Err:       err,
	}
}

// do runs f, which waits on the client, under ctx and a deadline of timeout
// (none when timeout <= 0). When either ends first the connection is closed,
// which makes f return; the Mailbox is then unusable.
func (m *Mailbox) do(ctx context.Context, op string, timeout time.Duration, f func() error) error {
	if err := ctx.Err(); err != nil {
		return m.wrap(op, err)
	}
	parent := ctx
	var cancel context.CancelFunc = func() {}
	if timeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, timeout)
	}
	defer cancel()
	stop := context.AfterFunc(ctx, func() { m.c.Close() })
	err := f()
	if !stop() {
		// The connection was closed under f: report why.
		if err = parent.Err(); err == nil {
			err = fmt.Errorf("no answer within %v: %w", timeout, ctx.Err())
		}
	}
	return m.wrap(op, err)
}

// Fetch hands each message with a UID above after to fn, in ascending UID
// order, at most limit of them (limit <= 0: all). Bodies are read with
// BODY.PEEK[] (no \Seen). A message whose RFC822.SIZE exceeds maxBytes
// (<= 0: DefaultMaxBytes) is handed with TooLarge set and Raw nil, without
// downloading it. Messages expunged by someone else meanwhile are skipped.
//
// Bodies are downloaded in batches (at most 8 MiB or 200 messages) and fn is
// called between batches, never while a command is in flight, so a slow fn
// (a database transaction) cannot stall the connection. A batch download may
// take Account.Timeout plus one second per 32 KiB before it is abandoned;
// every other command, Account.Timeout. If fn returns an
// error, Fetch stops and returns it (wrapped, not an *Error); the Mailbox
// stays usable.
func (m *Mailbox) Fetch(ctx context.Context, after uint32, limit int, maxBytes int64, fn func(Fetched) error) error {
	if err := m.enter("fetch"); err != nil {
		return err
	}
	defer m.leave()
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	if after == ^uint32(0) {
		return nil
	}

	// Servers such as Dovecot bring a session up to date with the mailbox
	// only between commands, so without this NOOP a SEARCH misses mail
	// delivered since the last command.
	if err := m.do(ctx, "noop", m.acct.Timeout, func() error { return m.c.Noop().Wait() }); err != nil {
		return err
	}
	// What the SEARCH below sees needs no wake-up; mail announced from here
	// on makes the next Wait return at once.
	select {
	case <-m.newMail:
	default:
	}
	// "UID n:*" also matches the highest message when n is above it, so the
	// result is filtered again below.
	var uids []imap.UID
	err := m.do(ctx, "search", m.acct.Timeout, func() error {
		data, err := m.c.UIDSearch(&imap.SearchCriteria{
			UID: []imap.UIDSet{{imap.UIDRange{Start: imap.UID(after + 1), Stop: 0}}},
		}, nil).Wait()
		if err != nil {
			return err
		}
		uids = data.AllUIDs()
		return nil
	})
	if err != nil {
		return err
	}
	uids = slices.DeleteFunc(uids, func(u imap.UID) bool { return uint32(u) <= after })
	slices.Sort(uids)
	uids = slices.Compact(uids)
	if limit > 0 && len(uids) > limit {
		uids = uids[:limit]
	}
	if len(uids) == 0 {
		return nil
	}

	type meta struct {
		size int64
		date time.Time
	}
	metas := make(map[imap.UID]meta, len(uids))
	for chunk := range slices.Chunk(uids, uidsPerCommand) {
		err := m.do(ctx, "fetch", m.acct.Timeout, func() error {
			cmd := m.c.Fetch(imap.UIDSetNum(chunk...), &imap.FetchOptions{UID: true, RFC822Size: true, InternalDate: true})
			defer cmd.Close()
			for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
				buf, err := msg.Collect()
				if err != nil {
					return err
				}
				if buf.UID != 0 {
					metas[buf.UID] = meta{size: buf.RFC822Size, date: buf.InternalDate}
				}
			}
			return cmd.Close()
		})
		if err != nil {
			return err
		}
	}

	var batch []*Fetched
	var batchBytes int64
	flush := func() error {
		var want []imap.UID
		for _, f := range batch {
			if !f.TooLarge {
				want = append(want, imap.UID(f.UID))
			}
		}
		bodies, err := m.fetchBodies(ctx, want, batchBytes, maxBytes)
		defer closeSpools(bodies)
		if err != nil {
			return err
		}
		for _, f := range batch {
			if !f.TooLarge {
				body, ok := bodies[imap.UID(f.UID)]
				if !ok {
					continue // expunged between the two FETCHes
				}
				switch {
				case body.spool != nil:
					f.Spool = body.spool
				case body.raw == nil: // larger than announced
					f.TooLarge = true
					f.Size = max(f.Size, body.size)
				default:
					f.Raw = body.raw
				}
			}
			if err := fn(*f); err != nil {
				return fmt.Errorf("imap fetch: handling uid %d: %w", f.UID, err)
			}
		}
		batch, batchBytes = batch[:0], 0
		return nil
	}
	for _, uid := range uids {
		md, ok := metas[uid]
		if !ok {
			continue
		}
		f := &Fetched{UIDValidity: m.uidValidity, UID: uint32(uid), Size: md.size, InternalDate: md.date}
		if md.size > maxBytes {
			f.TooLarge = true
		} else {
			if len(batch) > 0 && (batchBytes+md.size > fetchBatchBytes || len(batch) >= fetchBatchMessages) {
				if err := flush(); err != nil {
					return err
				}
			}
			batchBytes += md.size
		}
		batch = append(batch, f)
	}
	return flush()
}

// body is one downloaded message: in raw, or in spool when larger than
// SpoolOver; neither when its literal (size bytes) turned out larger than
// maxBytes and was skipped.
type body struct {
	raw   []byte
	spool *os.File
	size  int64
}

func closeSpools(bodies map[imap.UID]body) {
	for _, b := range bodies {
		if b.spool != nil {
			b.spool.Close()
		}
	}
}

// spool copies a large literal into an unlinked temporary file, so that only
// a small buffer of it is ever in memory.
func spool(r io.Reader, size int64) (*os.File, error) {
	f, err := os.CreateTemp("", "contiple-mail-*")
	if err != nil {
		return nil, err
	}
	os.Remove(f.Name()) // gone from the directory; freed when closed, even after a crash
	n, err := io.Copy(f, r)
	if err == nil && n != size {
		err = fmt.Errorf("literal ended after %d of %d bytes", n, size)
	}
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// fetchBodies downloads the given messages (about size bytes in all) with
// BODY.PEEK[]. A message that is gone is absent from the result.
func (m *Mailbox) fetchBodies(ctx context.Context, uids []imap.UID, size, maxBytes int64) (map[imap.UID]body, error) {
	out := make(map[imap.UID]body, len(uids))
	if len(uids) == 0 {
		return out, nil
	}
	section := &imap.FetchItemBodySection{Peek: true}
	// A stalled server must not hold the poll forever, a slow link must not
	// fail for good: allow Timeout plus one second per minTransferRate bytes.
	timeout := m.acct.Timeout + time.Duration(size/minTransferRate)*time.Second
	var spools []*os.File // closed here if the download fails
	err := m.do(ctx, "fetch", timeout, func() error {
		cmd := m.c.Fetch(imap.UIDSetNum(uids...), &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{section}})
		defer cmd.Close()
		for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
			var uid imap.UID
			var b body
			seen := false
			for item := msg.Next(); item != nil; item = msg.Next() {
				switch item := item.(type) {
				case imapclient.FetchItemDataUID:
					uid = item.UID
				case imapclient.FetchItemDataBodySection:
					seen = true
					if item.Literal == nil { // NIL: an empty message
						b = body{raw: []byte{}}
						continue
					}
					b.size = item.Literal.Size()
					if b.size > maxBytes {
						continue // msg.Next discards it unread
					}
					if b.size > SpoolOver {
						f, err := spool(item.Literal, b.size)
						if err != nil {
							return fmt.Errorf("reading uid %d: %w", uid, err)
						}
						b.spool = f
						spools = append(spools, f)
						continue
					}
					b.raw = make([]byte, b.size)
					if _, err := io.ReadFull(item.Literal, b.raw); err != nil {
						return fmt.Errorf("reading uid %d: %w", uid, err)
					}
				}
			}
			if uid != 0 && seen {
				out[uid] = b
			}
		}
		return cmd.Close()
	})
	if err != nil {
		for _, f := range spools {
			f.Close()
		}
	}
	return out, err
}

// Ack does what the mailbox's `after` setting says (see ParseAfter) with the
// given UIDs, once the caller has committed them:
//   - seen: UID STORE +FLAGS.SILENT (\Seen)
//   - move:FOLDER: UID MOVE; without the MOVE capability UID COPY, then
//     \Deleted, then UID EXPUNGE of exactly these UIDs. The folder is created
//     if missing.
//   - delete: \Deleted, then UID EXPUNGE of these UIDs.
//
// Without UIDPLUS, a plain EXPUNGE is used, which also removes any other
// message that someone marked \Deleted in the folder. Acking a UID that was
// already acked or no longer exists is harmless: the server ignores it. If
// the connection breaks between COPY and EXPUNGE, acking again copies again
// (a duplicate in the target folder, never in the intake folder).
func (m *Mailbox) Ack(ctx context.Context, uids []uint32, after string) error {
	mode, folder, err := ParseAfter(after)
	if err != nil {
		return m.wrap("ack", err)
	}
	if err := m.enter("ack"); err != nil {
		return err
	}
	defer m.leave()
	if mode == AfterMove && sameFolder(folder, m.acct.Folder) {
		return m.wrap("ack", fmt.Errorf("%w: after %q moves into the folder being read", errConfig, after))
	}
	if len(uids) == 0 {
		return nil
	}
	set := make([]imap.UID, 0, len(uids))
	for _, u := range uids {
		if u != 0 {
			set = append(set, imap.UID(u))
		}
	}
	slices.Sort(set)
	set = slices.Compact(set)
	if mode == AfterMove {
		if err := m.ensureFolder(ctx, folder); err != nil {
			return err
		}
	}
	for chunk := range slices.Chunk(set, uidsPerCommand) {
		uidSet := imap.UIDSetNum(chunk...)
		switch mode {
		case AfterSeen:
			err = m.store(ctx, uidSet, imap.FlagSeen)
		case AfterDelete:
			if err = m.store(ctx, uidSet, imap.FlagDeleted); err == nil {
				err = m.expunge(ctx, uidSet)
			}
		case AfterMove:
			err = m.move(ctx, uidSet, folder)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func sameFolder(a, b string) bool {
	if strings.EqualFold(a, "INBOX") || strings.EqualFold(b, "INBOX") {
		return strings.EqualFold(a, b)
	}
	return a == b
}

func (m *Mailbox) store(ctx context.Context, set imap.UIDSet, flag imap.Flag) error {
	return m.do(ctx, "store", m.acct.Timeout, func() error {
		return m.c.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{flag}}, nil).Close()
	})
}

func (m *Mailbox) expunge(ctx context.Context, set imap.UIDSet) error {
	return m.do(ctx, "expunge", m.acct.Timeout, func() error {
		if m.caps.Has(imap.CapUIDPlus) {
			return m.c.UIDExpunge(set).Close()
		}
		return m.c.Expunge().Close()
	})
}

// move does not use imapclient's own MOVE fallback: in beta.8 it pipelines
// COPY, STORE \Deleted and EXPUNGE without waiting, so a failed COPY would
// still delete the messages.
func (m *Mailbox) move(ctx context.Context, set imap.UIDSet, folder string) error {
	if m.caps.Has(imap.CapMove) {
		return m.do(ctx, "move", m.acct.Timeout, func() error {
			_, err := m.c.Move(set, folder).Wait()
			return err
		})
	}
	err := m.do(ctx, "copy", m.acct.Timeout, func() error {
		_, err := m.c.Copy(set, folder).Wait()
		return err
	})
	if err != nil {
		return err
	}
	if err := m.store(ctx, set, imap.FlagDeleted); err != nil {
		return err
	}
	return m.expunge(ctx, set)
}

// ensureFolder creates folder unless it exists (once per connection).
func (m *Mailbox) ensureFolder(ctx context.Context, folder string) error {
	if m.created[folder] {
		return nil
	}
	createErr := m.do(ctx, "create", m.acct.Timeout, func() error {
		return m.c.Create(folder, nil).Wait()
	})
	if createErr != nil {
		var imapErr *imap.Error
		if !errors.As(createErr, &imapErr) {
			return createErr // the connection failed
		}
		// Usually ALREADYEXISTS; not every server sends the code, so ask.
		statusErr := m.do(ctx, "create", m.acct.Timeout, func() error {
			_, err := m.c.Status(folder, &imap.StatusOptions{NumMessages: true}).Wait()
			return err
		})
		if statusErr != nil {
			return createErr
		}
	}
	m.created[folder] = true
	return nil
}

// Wait blocks until the server announces new mail, poll elapses (<= 0:
// DefaultPoll) or ctx ends (then it returns ctx's error). With IDLE (offered
// by the server and not Account.NoIdle) new mail ends the wait within
// moments; without it Wait sleeps for poll and then sends NOOP, which also
// checks the connection. Mail announced since the last Fetch ends Wait at
// once. A nil return does not promise new mail: call Fetch.
func (m *Mailbox) Wait(ctx context.Context, poll time.Duration) error {
	if poll <= 0 {
		poll = DefaultPoll
	}
	if err := m.enter("idle"); err != nil {
		return err
	}
	defer m.leave()
	select {
	case <-m.newMail:
		return nil
	default:
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	timer := time.NewTimer(poll)
	defer timer.Stop()

	if m.acct.NoIdle || !m.caps.Has(imap.CapIdle) {
		select {
		case <-timer.C:
		case <-m.newMail:
		case <-ctx.Done():
			return ctx.Err()
		case <-m.c.Closed():
			return m.wrap("noop", errors.New("connection closed by the server"))
		}
		return m.do(ctx, "noop", m.acct.Timeout, func() error { return m.c.Noop().Wait() })
	}

	var idle *imapclient.IdleCommand
	err := m.do(ctx, "idle", m.acct.Timeout, func() (err error) {
		idle, err = m.c.Idle()
		return err
	})
	if err != nil {
		return err
	}
	var waitErr error
	select {
	case <-timer.C:
	case <-m.newMail:
	case <-ctx.Done():
		waitErr = ctx.Err()
	case <-m.c.Closed():
		return m.wrap("idle", errors.New("connection closed by the server"))
	}
	// End IDLE even when ctx is done, so the connection stays usable.
	err = m.do(context.WithoutCancel(ctx), "idle", m.acct.Timeout, func() error {
		if err := idle.Close(); err != nil {
			return err
		}
		return idle.Wait()
	})
	if waitErr != nil {
		return waitErr
	}
	return err
}
