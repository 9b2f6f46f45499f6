package ticket

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Words the generated tickets are written with: Japanese, Korean and English
// support phrases, so that text search meets every script it meets in life.
var searchWords = map[string][]string{
	"ja": {"ログイン", "できません", "パスワード", "請求書", "届きません", "返金", "解約", "アカウント", "メール", "エラー", "画面",
		"表示", "支払い", "確認", "お願いします", "注文", "配送", "遅れ", "変更", "登録", "アプリ", "更新", "不具合", "問い合わせ"},
	"ko": {"로그인", "비밀번호", "결제", "오류", "환불", "계정", "주문", "배송", "취소", "확인", "부탁드립니다", "앱", "업데이트",
		"문의", "변경", "등록", "화면", "메일", "안됩니다", "지연"},
	"en": {"login", "password", "invoice", "refund", "account", "order", "delivery", "cancel", "error", "screen", "payment",
		"please", "help", "update", "app", "email", "missing", "broken", "charged", "twice", "subscription", "reset"},
}

var searchNames = []string{"佐藤 太郎", "鈴木 花子", "高橋 一郎", "김민수", "이지은", "박서준", "John Smith", "Mary Jones", "田中 美咲", "최유리"}

var searchStatuses = []Status{StatusUnassigned, StatusInProgress, StatusInProgress, StatusOnHold, StatusIssueTransferring,
	StatusDoorayInProgress, StatusResolved, StatusResolved, StatusResolved, StatusCompleted, StatusCompleted, StatusSpam}

func searchPhrase(r *rand.Rand, lang string, n int) string {
	words := searchWords[lang]
	sep := " "
	if lang == "ja" {
		sep = ""
	}
	parts := make([]string, n)
	for i := range parts {
		parts[i] = words[r.IntN(len(words))]
	}
	return strings.Join(parts, sep)
}

// fillTickets loads n tickets with two messages each into pool with COPY,
// spread over the last year, then vacuums and analyses. The same seed gives
// the same data.
func fillTickets(tb testing.TB, pool *pgxpool.Pool, n int) {
	tb.Helper()
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `INSERT INTO services (key, name, address, locale) VALUES
		('support', 'サポート', 'support@example.test', 'ja'), ('kr', '고객센터', 'kr@example.test', 'ko'),
		('global', 'Global', 'global@example.test', 'en') ON CONFLICT DO NOTHING`); err != nil {
		tb.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	langs := []string{"ja", "ja", "ko", "en"}
	services := map[string]string{"ja": "support", "ko": "kr", "en": "global"}
	channels := []Channel{ChannelEmail, ChannelEmail, ChannelEmail, ChannelPhone, ChannelChat, ChannelHelpCenter, ChannelCreated}
	start := time.Now().Add(-365 * 24 * time.Hour)
	tickets := make([][]any, n)
	messages := make([][]any, 0, 2*n)
	for i := range n {
		id := int64(i + 1)
		lang := langs[r.IntN(len(langs))]
		st := searchStatuses[r.IntN(len(searchStatuses))]
		created := start.Add(time.Duration(float64(365*24*time.Hour) * float64(i) / float64(n)))
		updated := created.Add(time.Duration(r.IntN(72)) * time.Hour)
		assignee, group := "", ""
		if st != StatusUnassigned {
			assignee = fmt.Sprintf("op%02d", r.IntN(20))
			group = fmt.Sprintf("team%d", r.IntN(4))
		}
		email := fmt.Sprintf("customer%d@example.%s", r.IntN(n/2+1), lang)
		var resolved any
		if st == StatusResolved || st == StatusCompleted {
			resolved = updated
		}
		tickets[i] = []any{id, services[lang], searchPhrase(r, lang, 3), string(st), "normal", string(channels[r.IntN(len(channels))]),
			searchNames[r.IntN(len(searchNames))], email, assignee, group, r.IntN(50) == 0, created, updated, resolved}
		for m := range 2 {
			messages = append(messages, []any{id, "customer", email, searchPhrase(r, lang, 20+r.IntN(40)), created.Add(time.Duration(m) * time.Hour)})
		}
	}
	if _, err := pool.CopyFrom(ctx, pgx.Identifier{"tickets"}, []string{"id", "service_key", "subject", "status", "priority", "channel",
		"customer_name", "customer_email", "assignee", "operator_group", "starred", "created_at", "updated_at", "resolved_at"},
		pgx.CopyFromRows(tickets)); err != nil {
		tb.Fatal(err)
	}
	if _, err := pool.CopyFrom(ctx, pgx.Identifier{"ticket_messages"}, []string{"ticket_id", "kind", "author", "body", "created_at"},
		pgx.CopyFromRows(messages)); err != nil {
		tb.Fatal(err)
	}
	// As autovacuum would leave them: statistics, and the visibility map
	// that lets counts be answered from the indexes alone.
	for _, table := range []string{"tickets", "ticket_messages"} {
		if _, err := pool.Exec(ctx, "VACUUM ANALYZE "+table); err != nil {
			tb.Fatal(err)
		}
	}
}

// searchCases are the list queries of the helpdesk's menus and search.
func searchCases() []struct {
	name string
	f    ListFilter
} {
	from := time.Now().Add(-60 * 24 * time.Hour)
	to := from.Add(7 * 24 * time.Hour)
	return []struct {
		name string
		f    ListFilter
	}{
		{"all", ListFilter{}},
		{"statuses", ListFilter{Statuses: []Status{StatusInProgress, StatusOnHold}}},
		{"service_status", ListFilter{Service: "kr", Statuses: []Status{StatusUnassigned}}},
		{"assignee", ListFilter{Assignee: "op07", Statuses: []Status{StatusInProgress}}},
		{"group", ListFilter{Group: "team2"}},
		{"transferred", ListFilter{Transferred: true}},
		{"starred", ListFilter{Starred: true}},
		{"feedback", ListFilter{Feedback: true}},
		{"customer_email", ListFilter{Customer: "customer4242@example.ja"}},
		{"customer_name", ListFilter{Customer: "김민수"}},
		{"channel", ListFilter{Channel: ChannelPhone}},
		{"created_range", ListFilter{CreatedFrom: &from, CreatedTo: &to}},
		{"updated_range", ListFilter{UpdatedFrom: &from, UpdatedTo: &to}},
		{"text_ja", ListFilter{Text: "パスワード"}},
		{"text_ko", ListFilter{Text: "비밀번호"}},
		{"text_en", ListFilter{Text: "invoice"}},
		{"text_none", ListFilter{Text: "存在しない言葉"}},
		{"deep_page", ListFilter{Cursor: encodeCursor(500)}},
	}
}
