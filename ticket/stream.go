// Large mail and attachments move between the worker and PostgreSQL as streams.

package ticket

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// streamOver is the size above which a mail or an attachment travels to and
// from PostgreSQL in a stream instead of as one statement parameter or result:
// pgx copies a parameter twice (into its argument buffer, then into the wire
// message) and a result twice (its read buffer, then the scan), so a 25 MB
// body would briefly take 75 MB. Smaller ones keep the one-statement path.
const streamOver = 1 << 20

// copyRow inserts one row with COPY … FROM STDIN (FORMAT binary), the last
// column's bytes (n of them) read from blob as they are sent: the client
// holds 64 KiB of it at a time, whatever its size. vals are the other columns,
// in order (int64, int32, string or time.Time).
func copyRow(ctx context.Context, tx pgx.Tx, table string, cols []string, vals []any, blob io.Reader, n int64) error {
	var head bytes.Buffer
	head.WriteString("PGCOPY\n\xff\r\n\x00")
	binary.Write(&head, binary.BigEndian, int32(0)) // flags
	binary.Write(&head, binary.BigEndian, int32(0)) // header extension
	binary.Write(&head, binary.BigEndian, int16(len(vals)+1))
	for _, v := range vals {
		var field []byte
		switch v := v.(type) {
		case int64:
			field = binary.BigEndian.AppendUint64(nil, uint64(v))
		case int32:
			field = binary.BigEndian.AppendUint32(nil, uint32(v))
		case string:
			field = []byte(v)
		case time.Time:
			field = binary.BigEndian.AppendUint64(nil, uint64(v.Sub(pgEpoch).Microseconds()))
		default:
			return fmt.Errorf("copyRow: %T is not a column type it knows", v)
		}
		binary.Write(&head, binary.BigEndian, int32(len(field)))
		head.Write(field)
	}
	binary.Write(&head, binary.BigEndian, int32(n))
	trailer := []byte{0xff, 0xff}
	counted := &countingReader{r: io.LimitReader(blob, n)}
	sql := fmt.Sprintf("COPY %s (%s) FROM STDIN (FORMAT binary)", table, strings.Join(cols, ", "))
	_, err := tx.Conn().PgConn().CopyFrom(ctx, io.MultiReader(&head, counted, bytes.NewReader(trailer)), sql)
	if err == nil && counted.n != n {
		return fmt.Errorf("copy into %s: the body ended after %d of %d bytes", table, counted.n, n)
	}
	return err
}

var pgEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// readRaw reads the raw bytes (n of them) of inbound mail id into one buffer
// of exactly that size, streamOver bytes per statement: the client never holds
// more than the mail and one slice of it. The raw bytes never change once
// stored, so the slices need no common snapshot.
func readRaw(ctx context.Context, q querier, id, n int64) ([]byte, error) {
	buf := make([]byte, n)
	for off := int64(0); off < n; off += streamOver {
		want := int(min(streamOver, n-off))
		rows, err := q.Query(ctx, "SELECT substring(raw FROM $2 FOR $3) FROM inbound_mails WHERE id = $1",
			pgx.QueryResultFormats{pgx.BinaryFormatCode}, id, off+1, want)
		if err != nil {
			return nil, err
		}
		got := -1
		for rows.Next() {
			got = copy(buf[off:], rows.RawValues()[0])
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		if got != want {
			return nil, fmt.Errorf("inbound mail %d: read %d bytes at %d, want %d", id, got, off, want)
		}
	}
	return buf, nil
}

// saveStreamed stores a large fetched message whose bytes are in m.Body: its
// hash is read first, then the bytes stream into the row with COPY. COPY
// knows no ON CONFLICT, so a message stored before is looked for first (one
// poller per mailbox holds the lease; should two ever store the same UID at
// once, the second transaction fails and its next cycle skips the message).
// It returns 0 when the message was stored before.
func saveStreamed(ctx context.Context, tx pgx.Tx, mailboxID int64, uidValidity uint32, m Fetched, now time.Time) (int64, error) {
	var exists bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM inbound_mails WHERE mailbox_id = $1 AND uidvalidity = $2 AND uid = $3)`,
		mailboxID, int64(uidValidity), int64(m.UID)).Scan(&exists); err != nil || exists {
		return 0, err
	}
	h := sha256.New()
	n, err := io.Copy(h, m.Body)
	if err != nil {
		return 0, fmt.Errorf("reading fetched uid %d: %w", m.UID, err)
	}
	if _, err := m.Body.Seek(0, io.SeekStart); err != nil {
		return 0, err
	}
	if err := copyRow(ctx, tx, "inbound_mails", []string{"mailbox_id", "uidvalidity", "uid", "content_hash", "size", "state", "error", "received_at", "raw"},
		[]any{mailboxID, int64(uidValidity), int64(m.UID), hex.EncodeToString(h.Sum(nil)), int32(max(m.Size, n)), InboundReceived, "", now},
		m.Body, n); err != nil {
		return 0, fmt.Errorf("storing fetched uid %d: %w", m.UID, err)
	}
	var id int64
	err = tx.QueryRow(ctx, `SELECT id FROM inbound_mails WHERE mailbox_id = $1 AND uidvalidity = $2 AND uid = $3`,
		mailboxID, int64(uidValidity), int64(m.UID)).Scan(&id)
	return id, err
}

// storeLargeAttachment stores data under its hash unless it is stored already,
// streaming it with COPY (no second copy in memory). COPY knows no ON
// CONFLICT: a lock on the hash makes a second mail with the same attachment
// wait for the first's transaction, then find the row.
func storeLargeAttachment(ctx context.Context, tx pgx.Tx, key, contentType string, data []byte) error {
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtextextended('attachment:' || $1, 0))", key); err != nil {
		return err
	}
	var exists bool
	if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM attachments WHERE sha256 = $1)", key).Scan(&exists); err != nil || exists {
		return err
	}
	return copyRow(ctx, tx, "attachments", []string{"sha256", "size", "content_type", "data"},
		[]any{key, int64(len(data)), contentType}, bytes.NewReader(data), int64(len(data)))
}
