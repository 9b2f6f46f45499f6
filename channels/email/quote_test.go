package email

import "testing"

func TestReplyText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"no history", "Hello,\nplease help.\n", "Hello,\nplease help."},
		{"gmail", "Thanks, that works.\n\nOn Mon, Jan 2, 2023 at 10:00 AM Support <support@example.com> wrote:\n> Try again.\n", "Thanks, that works."},
		{"gmail wrapped", "Thanks!\n\nOn Mon, Jan 2, 2023 at 10:00 AM Contiple Support Desk <\nsupport@example.com> wrote:\n\n> Try again.\n", "Thanks!"},
		{"apple mail", "Got it.\n\n> On 2 Jan 2023, at 10:00, Support <support@example.com> wrote:\n> \n> Try again.\n", "Got it."},
		{"apple mail unquoted header", "Got it.\n\nOn 2 Jan 2023, at 10:00, Support <support@example.com> wrote:\n\n> Try again.\n", "Got it."},
		{"thunderbird", "Yes.\n\nOn 1/2/23 10:00 AM, Support wrote:\n> Try again.\n", "Yes."},
		{"thunderbird name only", "Yes.\n\nSupport wrote:\n> Try again.\n", "Yes."},
		{"outlook original message", "Fine.\n\n-----Original Message-----\nFrom: Support\nSent: Monday\nTry again.\n", "Fine."},
		{"outlook header block", "Fine.\n\nFrom: Support <support@example.com>\nSent: Monday, January 2, 2023 10:00 AM\nTo: me\nSubject: RE: x\n\nTry again.\n", "Fine."},
		{"outlook rule", "Fine.\n\n________________________________\nFrom: Support\nSent: Monday\n", "Fine."},
		{"outlook bold header from gmail html", "Fine.\n\n*From:* Support\n*Sent:* Monday\n", "Fine."},
		{"japanese gmail", "承知しました。\n\n2023年1月2日(月) 10:00 山田 <yamada@example.jp>:\n> 再度お試しください。\n", "承知しました。"},
		{"japanese gmail wrapped", "承知しました。\n\n2023年1月2日(月) 10:00 サポートデスク <\nsupport@example.jp>:\n\n> 再度お試しください。\n", "承知しました。"},
		{"japanese thunderbird", "ありがとうございます。\n\n山田 さんは書きました:\n> 再度お試しください。\n", "ありがとうございます。"},
		{"japanese outlook", "了解です。\n\n-----Original Message-----\n差出人: サポート\n送信日時: 2023年1月2日 10:00\n", "了解です。"},
		{"japanese outlook header block", "了解です。\n\n差出人: サポート <support@example.jp>\n送信日時: 2023年1月2日 10:00\n宛先: 山田\n件名: RE: 問い合わせ\n", "了解です。"},
		{"japanese outlook separator", "了解です。\n\n-----元のメッセージ-----\n差出人: サポート\n", "了解です。"},
		{"japanese fullwidth quotes", "了解です。\n\n＞再度お試しください。\n", "了解です。"},
		{"korean gmail", "감사합니다.\n\n2023년 1월 2일 (월) 오전 10:00, 홍길동 <hong@example.kr>님이 작성:\n> 다시 시도해 주세요.\n", "감사합니다."},
		{"korean outlook", "확인했습니다.\n\n-----원본 메시지-----\n보낸 사람: 지원팀\n", "확인했습니다."},
		{"korean outlook header block", "확인했습니다.\n\n보낸 사람: 지원팀 <support@example.kr>\n보낸 날짜: 2023년 1월 2일 월요일 오전 10:00\n", "확인했습니다."},
		{"german", "Danke.\n\nAm 02.01.2023 um 10:00 schrieb Support <support@example.de>:\n> Bitte erneut versuchen.\n", "Danke."},
		{"german outlook", "Danke.\n\n-----Ursprüngliche Nachricht-----\nVon: Support\nGesendet: Montag\n", "Danke."},
		{"french", "Merci.\n\nLe lun. 2 janv. 2023 à 10:00, Support <support@example.fr> a écrit :\n> Réessayez.\n", "Merci."},
		{"signature", "See attached.\n\n-- \nJohn Doe\nACME Corp\n", "See attached."},
		{"trailing quote without header", "Agreed.\n\n> earlier text\n> more\n", "Agreed."},
		{"interleaved answers kept", "> Question one?\nAnswer one.\n\n> Question two?\nAnswer two.\n", "> Question one?\nAnswer one.\n\n> Question two?\nAnswer two."},
		{"only history", "On Mon, Jan 2, 2023 at 10:00 AM Support <s@example.com> wrote:\n> hi\n", ""},
		{"wrote in prose not cut", "My colleague wrote:\nthe numbers are wrong.\n", "My colleague wrote:\nthe numbers are wrong."},
		{"from in prose not cut", "From: Tokyo\nTo: Osaka\nI need a ticket.\n", "From: Tokyo\nTo: Osaka\nI need a ticket."},
		{"crlf", "Hi\r\n\r\nOn Mon, Jan 2, 2023 at 10:00 AM A <a@b.c> wrote:\r\n> x\r\n", "Hi"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := ReplyText(tt.in); got != tt.want {
				t.Errorf("ReplyText(%q)\n got: %q\nwant: %q", tt.in, got, tt.want)
			}
		})
	}
}
