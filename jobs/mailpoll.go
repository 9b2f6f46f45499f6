package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/contiple/contiple-worker/channels/email"
	"github.com/contiple/contiple-worker/ticket"
)

// MailboxIntake is how one mailbox is read: its account (with the password,
// never logged), what to do with mail once its ticket is committed, and whether
// to wait with IDLE.
type MailboxIntake struct {
	Name    string // the mailbox (service key)
	Account email.Account
	After   string // seen | move:FOLDER | delete
	IDLE    bool
	Poll    time.Duration
}

// MailPollPayload is the payload of mail:poll: one intake cycle of a mailbox.
type MailPollPayload struct {
	Mailbox string `json:"mailbox"`
}

// mailSource is what intake needs of an IMAP connection (*email.Mailbox).
type mailSource interface {
	UIDValidity() uint32
	Fetch(ctx context.Context, after uint32, limit int, maxBytes int64, fn func(email.Fetched) error) error
	Ack(ctx context.Context, uids []uint32, after string) error
	Wait(ctx context.Context, poll time.Duration) error
	Close() error
}

// MailPoll reads mailboxes into inbound_mails. Each new message is stored with
// its (mailbox, UIDVALIDITY, UID) key and owes a mail:ingest in the same
// transaction; a message is flagged, moved or deleted on the server only once
// its ticket has committed (at the next cycle).
type MailPoll struct {
	Store     *ticket.Store
	Log       *slog.Logger
	Mailboxes map[string]MailboxIntake
	MaxBytes  int64 // larger mail is kept as failed, not read; 0: 25 MiB
	Batch     int   // messages per transaction; 0: 100

	dial func(ctx context.Context, a email.Account) (mailSource, error) // tests inject faults
}

func (p *MailPoll) batch() int {
	if p.Batch <= 0 {
		return 100
	}
	return p.Batch
}

func (p *MailPoll) maxBytes() int64 {
	if p.MaxBytes <= 0 {
		return 25 << 20
	}
	return p.MaxBytes
}

func (p *MailPoll) connect(ctx context.Context, a email.Account) (mailSource, error) {
	if p.dial != nil {
		return p.dial(ctx, a)
	}
	m, err := email.Dial(ctx, a)
	if err != nil {
		return nil, err
	}
	return m, nil
}

// Register adds the mail:poll handler to mux.
func (p *MailPoll) Register(mux *asynq.ServeMux) { mux.HandleFunc(TypeMailPoll, p.handle) }

// NewMailPollTask is the scheduler's task for one mailbox.
func NewMailPollTask(mailbox string, every time.Duration) (*asynq.Task, []asynq.Option) {
	payload := fmt.Appendf(nil, `{"mailbox":%q}`, mailbox)
	return asynq.NewTask(TypeMailPoll, payload), []asynq.Option{asynq.Queue(QueueMailIn),
		asynq.Unique(max(every, time.Second)), asynq.MaxRetry(0), asynq.Timeout(10 * time.Minute)}
}

func (p *MailPoll) handle(ctx context.Context, t *asynq.Task) error {
	var pl MailPollPayload
	if err := decode(t.Payload(), &pl); err != nil {
		return err
	}
	mi, ok := p.Mailboxes[pl.Mailbox]
	if !ok {
		return fmt.Errorf("mailbox %q is not configured here: %w", pl.Mailbox, asynq.SkipRetry)
	}
	src, err := p.connect(ctx, mi.Account)
	if err != nil {
		return p.fail(ctx, mi, err)
	}
	defer src.Close()
	_, err = p.Cycle(ctx, mi, src)
	err = p.fail(ctx, mi, err)
	if ae := (*AckError)(nil); errors.As(err, &ae) {
		return nil // recorded on the mailbox; the next cycle tries again
	}
	return err
}

// fail records err (or clears the last error) on the mailbox and returns it.
func (p *MailPoll) fail(ctx context.Context, mi MailboxIntake, err error) error {
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	checked := err == nil || errors.As(err, new(*AckError)) // read; only the acknowledgement was refused
	if merr := p.Store.MailboxChecked(context.WithoutCancel(ctx), mi.Name, checked, msg); merr != nil {
		p.Log.Warn("recording the mailbox's state", "mailbox", mi.Name, "err", merr)
	}
	return err
}

// Cycle acknowledges what is done, then stores every message newer than the
// last UID stored. It returns how many messages it stored.
func (p *MailPoll) Cycle(ctx context.Context, mi MailboxIntake, src mailSource) (int, error) {
	mb, err := p.Store.Mailbox(ctx, mi.Name)
	if err != nil {
		return 0, err
	}
	v := src.UIDValidity()
	if changed, err := p.Store.SetUIDValidity(ctx, mb.ID, v); err != nil {
		return 0, err
	} else if changed {
		if mb.UIDValidity != 0 {
			p.Log.Warn("UIDVALIDITY changed: reading the folder again; mails seen before are recognised as duplicates",
				"mailbox", mi.Name, "old", mb.UIDValidity, "new", v)
		}
		mb.LastUID = 0
	}
	// A mailbox that refuses the acknowledgement (a full target folder, a
	// refused MOVE) must not stop intake: the mails stay unacknowledged and are
	// tried again next cycle, and the failure shows as the mailbox's error.
	ackErr := p.ack(ctx, mi, mb.ID, v, src)
	if ackErr != nil {
		if !email.IsRefused(ackErr) || ctx.Err() != nil {
			return 0, ackErr // the connection is gone: dial again
		}
		p.Log.Warn("the server refused the acknowledgement; intake goes on", "mailbox", mi.Name, "err", ackErr)
		ackErr = &AckError{Err: ackErr}
	}
	stored := 0
	var batch []ticket.Fetched
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		ids, err := p.Store.SaveFetched(ctx, mb.ID, v, batch)
		stored += len(ids)
		batch = batch[:0]
		return err
	}
	err = src.Fetch(ctx, mb.LastUID, 0, p.maxBytes(), func(f email.Fetched) error {
		tf := ticket.Fetched{UID: f.UID, Raw: f.Raw, Size: f.Size}
		if f.Spool != nil {
			tf.Body = f.Spool // streamed into the database; Fetch closes it when this returns
		} else if f.TooLarge || f.Raw == nil {
			tf.TooLarge = fmt.Sprintf("message of %d bytes is larger than mail.max_message_bytes (%d): left on the server, not read", f.Size, p.maxBytes())
		}
		batch = append(batch, tf)
		if len(batch) >= p.batch() || tf.Body != nil {
			return flush()
		}
		return nil
	})
	if ferr := flush(); err == nil {
		err = ferr
	}
	if stored > 0 {
		p.Log.Info("mail fetched", "mailbox", mi.Name, "stored", stored)
	}
	if err == nil {
		err = ackErr
	}
	return stored, err
}

// AckError is the server refusing to flag, move or delete mail (a full or
// missing target folder): intake went on, the mails stay unacknowledged and
// are tried again next cycle, and it shows as the mailbox's error.
type AckError struct{ Err error }

func (e *AckError) Error() string { return e.Err.Error() }
func (e *AckError) Unwrap() error { return e.Err }

// ack tells the server about mails whose tickets have committed.
func (p *MailPoll) ack(ctx context.Context, mi MailboxIntake, mailboxID int64, v uint32, src mailSource) error {
	for {
		uids, err := p.Store.Unacked(ctx, mailboxID, v, 500)
		if err != nil || len(uids) == 0 {
			return err
		}
		if err := src.Ack(ctx, uids, mi.After); err != nil {
			return fmt.Errorf("mailbox %s: after %s: %w", mi.Name, mi.After, err)
		}
		if err := p.Store.MarkAcked(ctx, mailboxID, v, uids); err != nil {
			return err
		}
		if len(uids) < 500 {
			return nil
		}
	}
}

// RunIDLE keeps one connection per IDLE mailbox and runs a cycle whenever the
// server reports new mail, at least every poll interval, and soon after a
// cycle that stored mail (to acknowledge it once ingested). Only one process
// among all workers watches a mailbox: the one holding its lease in Redis.
func (p *MailPoll) RunIDLE(ctx context.Context, rdb redis.UniversalClient) {
	done := make(chan struct{})
	n := 0
	for _, mi := range p.Mailboxes {
		if !mi.IDLE {
			continue
		}
		n++
		go func() {
			defer func() { done <- struct{}{} }()
			p.watch(ctx, rdb, mi)
		}()
	}
	for range n {
		<-done
	}
}

const leaseTTL = 15 * time.Second

func (p *MailPoll) watch(ctx context.Context, rdb redis.UniversalClient, mi MailboxIntake) {
	log := p.Log.With("mailbox", mi.Name)
	key := "contiple:mailbox:lease:" + mi.Name
	owner := fmt.Sprintf("%x", rand.Uint64())
	var backoff email.Backoff
	for ctx.Err() == nil {
		ok, err := rdb.SetNX(ctx, key, owner, leaseTTL).Result()
		if err != nil || !ok {
			_ = sleepCtx(ctx, leaseTTL/3) // another worker watches it, or Redis is away
			continue
		}
		err = p.watchHeld(ctx, rdb, key, owner, mi, log, &backoff)
		rdb.Eval(context.WithoutCancel(ctx), `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`, []string{key}, owner)
		if ctx.Err() != nil {
			return
		}
		_ = p.fail(ctx, mi, err)
		log.Warn("mailbox watch stopped; reconnecting", "err", err)
		_ = backoff.Wait(ctx)
	}
}

var errLeaseLost = errors.New("lease taken by another worker")

func (p *MailPoll) watchHeld(ctx context.Context, rdb redis.UniversalClient, key, owner string, mi MailboxIntake, log *slog.Logger, backoff *email.Backoff) error {
	src, err := p.connect(ctx, mi.Account)
	if err != nil {
		return err
	}
	defer src.Close()
	backoff.Reset()
	log.Info("watching mailbox", "idle", mi.IDLE, "poll", mi.Poll)
	poll := mi.Poll
	if poll <= 0 {
		poll = 30 * time.Second
	}
	// The lease is renewed on a ticker while held, so a long cycle (a first
	// import) never lets a second worker in; losing it stops this watcher.
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		t := time.NewTicker(leaseTTL / 3)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			renewed, err := rdb.Eval(ctx, `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`,
				[]string{key}, owner, leaseTTL.Milliseconds()).Int()
			if err == nil && renewed == 0 {
				err = errLeaseLost
			}
			if err != nil && ctx.Err() == nil {
				cancel(err)
				return
			}
		}
	}()
	for {
		stored, err := p.Cycle(ctx, mi, src)
		if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
			return cause
		}
		if ae := (*AckError)(nil); err != nil && !errors.As(err, &ae) {
			return err
		}
		_ = p.fail(ctx, mi, err) // records an acknowledgement refused, or clears the last error
		wait := poll
		if stored > 0 {
			wait = time.Second // acknowledge soon what is being ingested now
		}
		if err := src.Wait(ctx, wait); err != nil {
			if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
				return cause
			}
			return err
		}
	}
}

// sleepCtx waits d, or less when ctx ends (then it returns ctx's error).
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
