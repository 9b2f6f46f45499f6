package email

import (
	"bytes"
	"io"
	"os"
	"testing"
)

// A message larger than SpoolOver comes as an unlinked spool file, never as a
// []byte: fetching eight 25 MB mails must not hold 200 MB. Its bytes are the
// message's, the spool leaves nothing in the temporary directory, and it is
// closed once the callback returns. Smaller ones still come in Raw.
func TestIMAPFetchSpoolsLargeMail(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	a := dovecotAccount(t)
	big := testMail("big", SpoolOver+300<<10)
	small := testMail("small", 500)
	appendMails(t, a, "INBOX", small, big)
	m := dial(t, a)

	var spools []*os.File
	var raws [][]byte
	err := m.Fetch(t.Context(), 0, 0, 64<<20, func(f Fetched) error {
		if f.Spool == nil {
			raws = append(raws, f.Raw)
			return nil
		}
		if f.Raw != nil {
			t.Errorf("uid %d: both Raw and Spool", f.UID)
		}
		if left, _ := os.ReadDir(tmp); len(left) != 0 {
			t.Errorf("spool left %d entries in the temporary directory", len(left))
		}
		got, err := io.ReadAll(f.Spool)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, big) {
			t.Errorf("spooled %d bytes differ from the %d appended", len(got), len(big))
		}
		spools = append(spools, f.Spool)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(spools) != 1 || len(raws) != 1 || !bytes.Equal(raws[0], small) {
		t.Fatalf("%d spooled, %d in memory; want one of each", len(spools), len(raws))
	}
	if _, err := spools[0].Read(make([]byte, 1)); err == nil {
		t.Error("the spool is still open after Fetch returned")
	}
}
