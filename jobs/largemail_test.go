package jobs

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/contiple/contiple-worker/ticket"
)

// largeMail is a mail of about 4 MB whose attachment (3 MB, random) is
// larger than what travels as one statement parameter.
func largeMail(id string, attachment []byte) string {
	var b strings.Builder
	fmt.Fprintf(&b, "From: Big <big@example.jp>\r\nTo: support@example.test\r\nSubject: log %s\r\nMessage-ID: <%s@example.jp>\r\n"+
		"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"xx\"\r\n\r\n--xx\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"+
		"ログです。\r\n--xx\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"log.bin\"\r\n"+
		"Content-Transfer-Encoding: base64\r\n\r\n", id, id)
	enc := base64.StdEncoding.EncodeToString(attachment)
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n--xx--\r\n")
	return b.String()
}

// A large mail is stored by streaming (Fetched.Body), read back in slices and
// its attachment streamed into attachments: the bytes, the hash and the
// idempotency of storing and of content-addressing are those of small mail.
func TestLargeMailStreamsThroughTheDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	in := newIntake(t)
	att := make([]byte, 3<<20)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range att {
		att[i] = byte(rng.Uint32())
	}
	raws := []string{largeMail("first", att), largeMail("second", att)}
	var ids []int64
	for i, raw := range raws {
		f := ticket.Fetched{UID: uint32(i + 1), Body: strings.NewReader(raw), Size: int64(len(raw))}
		got, err := in.store.SaveFetched(ctx, in.mailbox.ID, 7, []ticket.Fetched{f})
		if err != nil || len(got) != 1 {
			t.Fatalf("save %d: %v %v", i, got, err)
		}
		ids = append(ids, got[0])
		// Fetched again after a crash: skipped, as a small one would be.
		f.Body = strings.NewReader(raw)
		if again, err := in.store.SaveFetched(ctx, in.mailbox.ID, 7, []ticket.Fetched{f}); err != nil || len(again) != 0 {
			t.Fatalf("save %d again: %v %v", i, again, err)
		}
	}
	// Saving a batch that ends with a stored big mail still moves the mailbox
	// on past it (else every cycle would download it again).
	small := mailFrom("s@example.jp", "小さい", "本文")
	if got, err := in.store.SaveFetched(ctx, in.mailbox.ID, 7, []ticket.Fetched{
		{UID: 3, Raw: []byte(small), Size: int64(len(small))},
		{UID: 4, Body: strings.NewReader(raws[0]), Size: int64(len(raws[0]))},
	}); err != nil || len(got) != 2 {
		t.Fatalf("save a small and a big one: %v %v", got, err)
	}
	if got, err := in.store.SaveFetched(ctx, in.mailbox.ID, 7, []ticket.Fetched{
		{UID: 4, Body: strings.NewReader(raws[0]), Size: int64(len(raws[0]))},
		{UID: 5, Raw: []byte(small), Size: int64(len(small))},
	}); err != nil || len(got) != 1 {
		t.Fatalf("save the big one again and a new small one: %v %v", got, err)
	}
	if mb, err := in.store.Mailbox(ctx, "support"); err != nil || mb.LastUID != 5 {
		t.Errorf("last UID %d (%v), want 5", mb.LastUID, err)
	}
	for i, id := range ids {
		var hash string
		var size int
		if err := in.pool.QueryRow(ctx, "SELECT content_hash, size FROM inbound_mails WHERE id = $1", id).Scan(&hash, &size); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256([]byte(raws[i]))
		if hash != hex.EncodeToString(sum[:]) || size != len(raws[i]) {
			t.Errorf("mail %d: hash %s size %d, want %x %d", i, hash, size, sum, len(raws[i]))
		}
		im, err := in.store.Inbound(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if im.Raw != nil || im.RawSize != int64(len(raws[i])) {
			t.Errorf("mail %d: Inbound gave %d raw bytes and RawSize %d; want none and %d", i, len(im.Raw), im.RawSize, len(raws[i]))
		}
		raw, err := in.store.InboundRaw(ctx, im)
		if err != nil || !bytes.Equal(raw, []byte(raws[i])) {
			t.Fatalf("mail %d: read back %d bytes (%v), want the %d stored", i, len(raw), err, len(raws[i]))
		}
		res, err := in.h.Ingest(ctx, id)
		if err != nil || res.Outcome != ticket.IngestCreated {
			t.Fatalf("ingest %d: %+v %v", i, res, err)
		}
	}
	var stored []byte
	var rows, links int
	if err := in.pool.QueryRow(ctx, "SELECT (SELECT count(*) FROM attachments), (SELECT count(*) FROM message_attachments), (SELECT data FROM attachments LIMIT 1)").
		Scan(&rows, &links, &stored); err != nil {
		t.Fatal(err)
	}
	if rows != 1 || links != 2 || !bytes.Equal(stored, att) {
		t.Errorf("%d attachment rows, %d links, stored bytes equal %v; want 1, 2, true", rows, links, bytes.Equal(stored, att))
	}
}

// The memory budget makes a mail wait while others hold its bytes; a mail
// larger than the whole budget takes all of it, alone.
func TestMemoryBudgetMakesBigMailWait(t *testing.T) {
	t.Parallel()
	b := NewMemoryBudget(10 << 20)
	small, err := b.Acquire(t.Context(), 4<<20)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan func(), 1)
	go func() {
		release, err := b.Acquire(context.Background(), 25<<20) // more than the budget: all of it
		if err != nil {
			t.Error(err)
		}
		got <- release
	}()
	select {
	case <-got:
		t.Fatal("a 25 MB mail went ahead while 4 MB of a 10 MB budget were held")
	case <-time.After(100 * time.Millisecond):
	}
	small()
	release := <-got
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err := b.Acquire(ctx, 1); err == nil {
		t.Error("a 1-byte mail went ahead while a big one held the whole budget")
	}
	release()
	if r, err := b.Acquire(t.Context(), 10<<20); err != nil {
		t.Error(err)
	} else {
		r()
	}
	if r, err := (*MemoryBudget)(nil).Acquire(t.Context(), 1<<40); err != nil {
		t.Errorf("no budget: %v", err)
	} else {
		r()
	}
}
