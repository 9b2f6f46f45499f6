package ticket

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// MaskRune replaces each character of a masked span.
const MaskRune = '*'

// MaskSpan masks characters [from, to) of a message's body (個人情報マスキング).
// The stored body holds the mask; so does the HTML wherever the same text
// appears (see maskHTML). The original span, and the HTML as it was before the
// first mask, are kept only sealed, when a key is configured; so are the raw
// mail and the attachments of the message (see sealCopies), which nothing
// reads in clear until the last mask is lifted.
func (s *Store) MaskSpan(ctx context.Context, ticketID, messageID int64, from, to int, actor string) (Mask, error) {
	var m Mask
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		body, htmlText, htmlSealed, err := lockMessage(ctx, tx, ticketID, messageID)
		if err != nil {
			return err
		}
		runes := []rune(body)
		if from < 0 || to > len(runes) || from >= to {
			return inputf("span [%d, %d) is outside message %d (%d characters)", from, to, messageID, len(runes))
		}
		var overlaps bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM message_masks
			WHERE message_id = $1 AND start_pos < $3 AND end_pos > $2)`, messageID, from, to).Scan(&overlaps); err != nil {
			return err
		}
		if overlaps {
			return inputf("span [%d, %d) of message %d overlaps a masked span", from, to, messageID)
		}
		original := string(runes[from:to])
		masked := strings.Repeat(string(MaskRune), to-from)
		newBody := string(runes[:from]) + masked + string(runes[to:])
		newHTML := maskHTML(htmlText, []string{original})

		var sealed []byte
		if s.sealer != nil {
			ad := []byte(strconv.FormatInt(messageID, 10))
			sealed = s.sealer.Seal([]byte(original), ad)
			if htmlSealed == nil && newHTML != htmlText {
				htmlSealed = s.sealer.Seal([]byte(htmlText), ad)
			}
		}
		if _, err := tx.Exec(ctx, "UPDATE ticket_messages SET body = $2, html = $3, html_sealed = $4 WHERE id = $1",
			messageID, newBody, newHTML, htmlSealed); err != nil {
			return err
		}
		if err := s.maskReplyText(ctx, tx, messageID, original); err != nil {
			return err
		}
		if err := s.sealCopies(ctx, tx, messageID); err != nil {
			return err
		}
		m = Mask{Start: from, End: to, Sealed: sealed != nil, MaskedBy: actor}
		if err := tx.QueryRow(ctx, `INSERT INTO message_masks (message_id, start_pos, end_pos, sealed, masked_by)
			VALUES ($1, $2, $3, $4, $5) RETURNING id`, messageID, from, to, sealed, actor).Scan(&m.ID); err != nil {
			return err
		}
		return insertEvent(ctx, tx, ticketID, "mask", actor, "", "", map[string]any{
			"message_id": messageID, "mask_id": m.ID, "start": from, "end": to, "recoverable": m.Sealed}, s.now())
	})
	return m, err
}

// Unmask restores the masked spans of a message (one, or all when maskID is 0)
// for an authorised operator. It needs the key the spans were sealed with.
func (s *Store) Unmask(ctx context.Context, ticketID, messageID, maskID int64, actor string) (int, error) {
	if s.sealer == nil {
		return 0, ErrNoMaskKey
	}
	var restored int
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		body, _, htmlSealed, err := lockMessage(ctx, tx, ticketID, messageID)
		if err != nil {
			return err
		}
		rows, err := tx.Query(ctx, "SELECT id, start_pos, end_pos, sealed FROM message_masks WHERE message_id = $1 ORDER BY id", messageID)
		if err != nil {
			return err
		}
		type span struct {
			id         int64
			start, end int
			sealed     []byte
		}
		spans, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (span, error) {
			var sp span
			return sp, r.Scan(&sp.id, &sp.start, &sp.end, &sp.sealed)
		})
		if err != nil {
			return err
		}
		ad := []byte(strconv.FormatInt(messageID, 10))
		runes := []rune(body)
		var kept []string // originals of masks that stay, to re-mask the HTML
		for _, sp := range spans {
			if sp.sealed == nil {
				if sp.id == maskID {
					return errors.New("this span was masked without a key: its original was not kept")
				}
				continue
			}
			plain, err := s.sealer.Open(sp.sealed, ad)
			if err != nil {
				return err
			}
			if maskID != 0 && sp.id != maskID {
				kept = append(kept, string(plain))
				continue
			}
			orig := []rune(string(plain))
			if len(orig) != sp.end-sp.start || sp.end > len(runes) {
				return errors.New("masked span does not fit the message any more")
			}
			copy(runes[sp.start:sp.end], orig)
			if _, err := tx.Exec(ctx, "DELETE FROM message_masks WHERE id = $1", sp.id); err != nil {
				return err
			}
			restored++
		}
		if restored == 0 && maskID != 0 {
			return inputf("message %d has no recoverable masked span %d", messageID, maskID)
		}
		if restored == 0 {
			return inputf("message %d has no recoverable masked span", messageID)
		}
		var newHTML *string
		if htmlSealed != nil {
			orig, err := s.sealer.Open(htmlSealed, ad)
			if err != nil {
				return err
			}
			h := maskHTML(string(orig), kept)
			newHTML = &h
		}
		if len(kept) == 0 {
			htmlSealed = nil
		}
		if _, err := tx.Exec(ctx, "UPDATE ticket_messages SET body = $2, html = coalesce($3, html), html_sealed = $4 WHERE id = $1",
			messageID, string(runes), newHTML, htmlSealed); err != nil {
			return err
		}
		if err := s.unmaskReplyText(ctx, tx, messageID, kept); err != nil {
			return err
		}
		if restored == len(spans) { // no masked span left: its raw mail and attachments come back
			if err := s.unsealCopies(ctx, tx, messageID); err != nil {
				return err
			}
		}
		return insertEvent(ctx, tx, ticketID, "unmask", actor, "", "", map[string]any{
			"message_id": messageID, "restored": restored}, s.now())
	})
	return restored, err
}

func lockMessage(ctx context.Context, tx pgx.Tx, ticketID, messageID int64) (body, htmlText string, htmlSealed []byte, err error) {
	err = tx.QueryRow(ctx, "SELECT body, html, html_sealed FROM ticket_messages WHERE id = $1 AND ticket_id = $2 FOR UPDATE",
		messageID, ticketID).Scan(&body, &htmlText, &htmlSealed)
	if errors.Is(err, pgx.ErrNoRows) {
		err = inputf("ticket %d has no message %d", ticketID, messageID)
	}
	return
}
