package email

import "testing"

// replyCase is one text and the reply ExtractReply must find in it.
type replyCase struct {
	name       string
	in         string
	want       string
	onlyQuotes bool
}

// runReplyCases checks ExtractReply on each case, reply and flag exactly.
func runReplyCases(t *testing.T, cases []replyCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, only := ExtractReply(tt.in)
			if got != tt.want || only != tt.onlyQuotes {
				t.Errorf("ExtractReply(%q)\n got: %q, only quotes %v\nwant: %q, only quotes %v", tt.in, got, only, tt.want, tt.onlyQuotes)
			}
			if ReplyText(tt.in) != got {
				t.Errorf("ReplyText differs from ExtractReply")
			}
		})
	}
}

func TestExtractReplyGeneral(t *testing.T) {
	t.Parallel()
	runReplyCases(t, []replyCase{
		{"no history", "Hello,\nplease help.\n", "Hello,\nplease help.", false},
		{"empty", "", "", false},
		{"blank lines kept as written", "Hello,\n  \nplease help.\n", "Hello,\n  \nplease help.", false},
		{"crlf", "Hi\r\n\r\nOn Mon, Jan 2, 2023 at 10:00 AM A <a@b.c> wrote:\r\n> x\r\n", "Hi", false},
		{"trailing quote without attribution", "Agreed.\n\n> earlier text\n> more\n", "Agreed.", false},
		{"leading quote without attribution", "> earlier text\n> more\n\nAgreed.\n", "Agreed.", false},
		{"interleaved answers, quotes dropped", "> Question one?\nAnswer one.\n\n> Question two?\nAnswer two.\n", "Answer one.\n\nAnswer two.", false},
		{"interleaved without blank lines", "> Question one?\nAnswer one.\n> Question two?\nAnswer two.\n", "Answer one.\n\nAnswer two.", false},
		{"nested and indented quotes", "Yes.\n\n  > > old\n  >> older\n", "Yes.", false},
		{"pipe quote", "Fine.\n\n| Please try again.\n| Support\n", "Fine.", false},
		{"table row is not a quote", "| Item | Qty |\n|------|-----|\n| A | 1 |\n", "| Item | Qty |\n|------|-----|\n| A | 1 |", false},
		{"only quotes", "> hi\n> there\n", "", true},
		{"only attribution and quote", "On Mon, Jan 2, 2023 at 10:00 AM Support <s@example.com> wrote:\n> hi\n", "", true},
		{"signature only is not a quote", "-- \nJohn Doe\n", "", false},
		{"signature over a quote, no words", "-- \nJohn Doe\n\nOn Mon, Jan 2, 2023 at 10:00 AM Support <s@example.com> wrote:\n> hi\n", "", true},
		{"signature", "See attached.\n\n-- \nJohn Doe\nACME Corp\n", "See attached.", false},
		{"wrote in prose kept", "My colleague wrote:\nthe numbers are wrong.\n", "My colleague wrote:\nthe numbers are wrong.", false},
		{"wrote with a time in prose kept", "On Monday at 10:30 I wrote:\nthe numbers are wrong.\n", "On Monday at 10:30 I wrote:\nthe numbers are wrong.", false},
		{"from in prose kept", "From: Tokyo\nTo: Osaka\nI need a ticket.\n", "From: Tokyo\nTo: Osaka\nI need a ticket.", false},
		{"sentence then attribution not joined", "Thanks!\nOn Mon, Jan 2, 2023 at 10:00 AM Support <s@example.com> wrote:\n> x\n", "Thanks!", false},
		{"address line above an attribution kept", "Please reply to jane@example.org\nOn Mon, Jan 2, 2023 at 10:00 AM Support <s@example.com> wrote:\n> x\n", "Please reply to jane@example.org", false},
		{"date line above an attribution kept", "I called on 24.11.2026 at 10:00\nSupport <s@example.com> wrote:\n> x\n", "I called on 24.11.2026 at 10:00", false},
		{"date and address without quote kept", "2026/11/24 10:00 Support <s@example.com>:\nthe printer fails.\n", "2026/11/24 10:00 Support <s@example.com>:\nthe printer fails.", false},
	})
}

func TestExtractReplyEnglish(t *testing.T) {
	t.Parallel()
	runReplyCases(t, []replyCase{
		{"gmail", "Thanks, that works.\n\nOn Mon, Jan 2, 2023 at 10:00 AM Support <support@example.com> wrote:\n> Try again.\n", "Thanks, that works.", false},
		{"gmail wrapped in two", "Thanks!\n\nOn Mon, Jan 2, 2023 at 10:00 AM Contiple Support Desk <\nsupport@example.com> wrote:\n\n> Try again.\n", "Thanks!", false},
		{"gmail wrapped in three", "Thanks!\n\nOn Tue, Nov 24, 2026 at 10:00 AM Contiple Customer Support Desk of Example\nCorporation <support-desk@example.com>\nwrote:\n\n> Try again.\n", "Thanks!", false},
		{"apple mail", "Got it.\n\n> On 2 Jan 2023, at 10:00, Support <support@example.com> wrote:\n> \n> Try again.\n", "Got it.", false},
		{"apple mail unquoted attribution", "Got it.\n\nOn 2 Jan 2023, at 10:00, Support <support@example.com> wrote:\n\n> Try again.\n", "Got it.", false},
		{"thunderbird", "Yes.\n\nOn 1/2/23 10:00 AM, Support wrote:\n> Try again.\n", "Yes.", false},
		{"thunderbird name only", "Yes.\n\nSupport wrote:\n> Try again.\n", "Yes.", false},
		{"thunderbird below", "On 11/24/26 10:00 AM, Support wrote:\n> Could you try again?\n\nI tried, it still fails.\n", "I tried, it still fails.", false},
		{"thunderbird interleaved", "On 11/24/26 10:00 AM, Support wrote:\n> Which version?\n\n2.1\n\n> Which printer?\n\nThe one on floor 3.\n\n> Thanks, Support\n", "2.1\n\nThe one on floor 3.", false},
		{"becky below", "On Tue, 24 Nov 2026 10:00:00 +0900\nSupport <support@example.com> wrote:\n\n> Which version?\n\n2.1, as before.\n", "2.1, as before.", false},
		{"yahoo", "Done.\n\nOn Tuesday, November 24, 2026 at 10:00:00 AM GMT+9, Support <support@example.com> wrote:\n\nTry again.\n", "Done.", false},
		{"zoho", "Done.\n\n---- On Tue, 24 Nov 2026 10:00:00 +0900 Support <support@example.com> wrote ----\n\n> Try again.\n", "Done.", false},
		{"zoho forward", "See below.\n\n============ Forwarded message ============\nFrom: Shop <shop@example.com>\n\nYour order.\n", "See below.", false},
		{"outlook original message", "Fine.\n\n-----Original Message-----\nFrom: Support\nSent: Monday\nTry again.\n", "Fine.", false},
		{"outlook header block", "Fine.\n\nFrom: Support <support@example.com>\nSent: Monday, January 2, 2023 10:00 AM\nTo: me\nSubject: RE: x\n\nTry again.\n", "Fine.", false},
		{"outlook rule", "Fine.\n\n________________________________\nFrom: Support\nSent: Monday\n", "Fine.", false},
		{"underscores alone are not a separator", "Fine.\n\n________________________________\nJohn Doe, ACME\n", "Fine.\n\n________________________________\nJohn Doe, ACME", false},
		{"outlook bold header from gmail html", "Fine.\n\n*From:* Support\n*Sent:* Monday\n", "Fine.", false},
		{"outlook prefixed inline answers", "-----Original Message-----\nFrom: Support <support@example.com>\nSent: Tuesday, November 24, 2026 10:00 AM\nTo: Jane <jane@example.com>\nSubject: Printer\n\n> Which model?\nThe LX-200.\n> Which floor?\nThird.\n", "The LX-200.\n\nThird.", false},
		{"outlook inline comments marked with a name", "See my comments below.\n\nFrom: Support <support@example.com>\nSent: Tuesday, November 24, 2026 10:00 AM\nTo: Jane Doe\nSubject: Printer\n\nWhich model is it?\n[Jane Doe] The LX-200.\n\nOn which floor?\n[Jane Doe] Third.\n", "See my comments below.\n\n[Jane Doe] The LX-200.\n\n[Jane Doe] Third.", false},
		{"gmail forward", "FYI, see below.\n\n---------- Forwarded message ---------\nFrom: Shop <shop@example.com>\nDate: Tue, Nov 24, 2026 at 10:00 AM\nSubject: Order\nTo: <jane@example.com>\n\nYour order shipped.\n", "FYI, see below.", false},
		{"thunderbird forward", "FYI\n\n-------- Forwarded Message --------\nSubject: \tOrder\nDate: \tTue, 24 Nov 2026 10:00:00 +0900\nFrom: \tShop <shop@example.com>\n\nYour order shipped.\n", "FYI", false},
		{"apple forward", "FYI\n\nBegin forwarded message:\n\nFrom: Shop <shop@example.com>\nSubject: Order\n\nYour order shipped.\n", "FYI", false},
		{"forward only", "---------- Forwarded message ---------\nFrom: Shop <shop@example.com>\n\nYour order shipped.\n", "", true},
		{"sent from my iphone", "It works now.\n\nSent from my iPhone\n\n> On 24 Nov 2026, at 10:00, Support <support@example.com> wrote:\n> Try again.\n", "It works now.", false},
		{"sent from my android", "It works now.\n\nSent from my Android", "It works now.", false},
		{"samsung", "OK\n\nSent from my Samsung Galaxy smartphone.\n", "OK", false},
		{"get outlook for ios", "OK\n\nGet Outlook for iOS<https://aka.ms/o0ukef>\n________________________________\nFrom: Support <support@example.com>\nSent: Tuesday, November 24, 2026 10:00:00 AM\n", "OK", false},
		{"get outlook for android", "OK\n\nGet Outlook for Android\n", "OK", false},
		{"only a phone signature over a quote", "Sent from my iPhone\n\n> On 24 Nov 2026, at 10:00, Support <support@example.com> wrote:\n> Try again.\n", "", true},
		{"sent from in prose kept", "Sent from my office in Tokyo, the parcel never arrived.\n", "Sent from my office in Tokyo, the parcel never arrived.", false},
	})
}

func TestExtractReplyJapanese(t *testing.T) {
	t.Parallel()
	runReplyCases(t, []replyCase{
		{"gmail", "承知しました。\n\n2026年11月24日(火) 10:00 山田太郎 <yamada@example.jp>:\n> 再度お試しください。\n", "承知しました。", false},
		{"gmail wrapped", "承知しました。\n\n2026年11月24日(火) 10:00 サポートデスク <\nsupport@example.jp>:\n\n> 再度お試しください。\n", "承知しました。", false},
		{"gmail below", "2026年11月24日(火) 10:00 サポート <support@example.jp>:\n> 型番を教えてください。\n\nLX-200 です。\n", "LX-200 です。", false},
		{"apple mail", "了解です。\n\n> 2026/11/24 10:00、サポート <support@example.jp>のメール:\n> \n> 再度お試しください。\n", "了解です。", false},
		{"apple mail unquoted attribution", "了解です。\n\n2026/11/24 10:00、山田太郎 <yamada@example.jp>のメール:\n\n> 再度お試しください。\n", "了解です。", false},
		{"thunderbird", "ありがとうございます。\n\n2026/11/24 10:00 に サポート さんは書きました:\n> 再度お試しください。\n", "ありがとうございます。", false},
		{"thunderbird below", "2026/11/24 10:00 に サポート さんは書きました:\n> 型番は？\n\nLX-200 です。\n\n> 設置階は？\n\n3 階です。\n", "LX-200 です。\n\n3 階です。", false},
		{"thunderbird name only", "ありがとうございます。\n\n山田 さんは書きました:\n> 再度お試しください。\n", "ありがとうございます。", false},
		{"becky", "On Tue, 24 Nov 2026 10:00:00 +0900\nサポート <support@example.jp> wrote:\n\n> 型番は？\n\nLX-200 です。\n", "LX-200 です。", false},
		{"outlook original message", "了解です。\n\n-----Original Message-----\n差出人: サポート\n送信日時: 2026年11月24日 10:00\n", "了解です。", false},
		{"outlook header block", "了解です。\n\n差出人: サポート <support@example.jp>\n送信日時: 2026年11月24日 10:00\n宛先: 山田\n件名: RE: 問い合わせ\n\n再度お試しください。\n", "了解です。", false},
		{"outlook separator", "了解です。\n\n-----元のメッセージ-----\n差出人: サポート\n", "了解です。", false},
		{"outlook rule and full-width colons", "了解です。\n\n________________________________\n差出人： サポート <support@example.jp>\n送信日時： 2026年11月24日 10:00\n", "了解です。", false},
		{"full-width quote marks", "了解です。\n\n＞再度お試しください。\n", "了解です。", false},
		{"iphone signature", "届きました。\n\niPhoneから送信\n", "届きました。", false},
		{"written in prose kept", "マニュアルには次のように書きました:\n電源を切ってください。\n", "マニュアルには次のように書きました:\n電源を切ってください。", false},
	})
}

func TestExtractReplyKorean(t *testing.T) {
	t.Parallel()
	runReplyCases(t, []replyCase{
		{"gmail", "감사합니다.\n\n2026년 11월 24일 (화) 오전 10:00, 홍길동 <hong@example.kr>님이 작성:\n> 다시 시도해 주세요.\n", "감사합니다.", false},
		{"gmail below", "2026년 11월 24일 (화) 오전 10:00, 지원팀 <support@example.kr>님이 작성:\n> 모델명을 알려 주세요.\n\nLX-200입니다.\n", "LX-200입니다.", false},
		{"gmail without colon", "감사합니다.\n\n2026년 11월 24일 (화) 오전 10:00, 홍길동 <hong@example.kr>님이 작성\n> 다시 시도해 주세요.\n", "감사합니다.", false},
		{"apple mail", "확인했습니다.\n\n> 2026. 11. 24. 오전 10:00, 지원팀 <support@example.kr> 작성:\n> \n> 다시 시도해 주세요.\n", "확인했습니다.", false},
		{"outlook separator", "확인했습니다.\n\n-----원본 메시지-----\n보낸 사람: 지원팀\n", "확인했습니다.", false},
		{"outlook header block", "확인했습니다.\n\n보낸 사람: 지원팀 <support@example.kr>\n보낸 날짜: 2026년 11월 24일 화요일 오전 10:00\n받는 사람: 홍길동\n제목: RE: 문의\n\n다시 시도해 주세요.\n", "확인했습니다.", false},
		{"outlook html rule", "확인했습니다.\n\n----\n보낸 사람: 지원팀 <support@example.kr>\n 보낸 날짜: 2026년 11월 24일 화요일 오전 10:00\n 제목: 문의\n\n원문입니다.\n", "확인했습니다.", false},
		{"naver below", "-----Original Message-----\nFrom: \"지원팀\"<support@example.kr>\nTo: \"홍길동\"<hong@example.kr>;\nCc: \nSent: 2026-11-24 (화) 10:00:00 (GMT+09:00)\nSubject: 문의\n\n> 모델명을 알려 주세요.\n\nLX-200입니다.\n", "LX-200입니다.", false},
		{"daum", "확인했습니다.\n\n----- 원본 메일 -----\n보낸사람: 지원팀 <support@example.kr>\n받는사람: 홍길동 <hong@example.kr>\n날짜: 2026년 11월 24일 화요일, 10시 00분 00초 +0900\n제목: 문의\n\n다시 시도해 주세요.\n", "확인했습니다.", false},
		{"galaxy signature", "됐습니다.\n\nGalaxy에서 보냄\n", "됐습니다.", false},
		{"iphone signature", "됐습니다.\n\niPhone에서 보냄\n", "됐습니다.", false},
		{"writing in prose kept", "내일 10:00까지 보고서 작성\n부탁드립니다.\n", "내일 10:00까지 보고서 작성\n부탁드립니다.", false},
	})
}

func TestExtractReplyEuropean(t *testing.T) {
	t.Parallel()
	runReplyCases(t, []replyCase{
		{"de gmail", "Danke.\n\nAm Di., 24. Nov. 2026 um 10:00 Uhr schrieb Support <support@example.de>:\n> Bitte erneut versuchen.\n", "Danke.", false},
		{"de gmail wrapped", "Danke.\n\nAm Di., 24. Nov. 2026 um 10:00 Uhr schrieb Kundendienst der Beispiel GmbH <\nsupport@example.de>:\n\n> Bitte erneut versuchen.\n", "Danke.", false},
		{"de thunderbird below", "Am 24.11.2026 um 10:00 schrieb Support:\n> Welches Modell?\n\nLX-200.\n", "LX-200.", false},
		{"de name first", "Danke.\n\nSupport <support@example.de> schrieb am 24.11.2026 10:00:\n> Bitte erneut versuchen.\n", "Danke.", false},
		{"de outlook", "Danke.\n\n-----Ursprüngliche Nachricht-----\nVon: Support\nGesendet: Dienstag, 24. November 2026 10:00\nAn: Kunde\nBetreff: Drucker\n", "Danke.", false},
		{"de outlook header block", "Danke.\n\nVon: Support <support@example.de>\nGesendet: Dienstag, 24. November 2026 10:00\nAn: Kunde\nBetreff: Drucker\n\nBitte erneut versuchen.\n", "Danke.", false},
		{"de iphone", "Danke.\n\nVon meinem iPhone gesendet\n", "Danke.", false},
		{"fr gmail", "Merci.\n\nLe mar. 24 nov. 2026 à 10:00, Support <support@example.fr> a écrit :\n> Réessayez.\n", "Merci.", false},
		{"fr thunderbird", "Merci.\n\nLe 24/11/2026 à 10:00, Support a écrit :\n> Réessayez.\n", "Merci.", false},
		{"fr outlook", "Merci.\n\nDe : Support <support@example.fr>\nEnvoyé : mardi 24 novembre 2026 10:00\nÀ : Client\nObjet : Imprimante\n\nRéessayez.\n", "Merci.", false},
		{"fr separator", "Merci.\n\n-----Message d'origine-----\nDe : Support\n", "Merci.", false},
		{"fr iphone", "Merci.\n\nEnvoyé de mon iPhone\n", "Merci.", false},
		{"es gmail", "Gracias.\n\nEl mar, 24 nov 2026 a las 10:00, Support (<support@example.es>) escribió:\n> Inténtelo de nuevo.\n", "Gracias.", false},
		{"es outlook", "Gracias.\n\nDe: Support <support@example.es>\nEnviado: martes, 24 de noviembre de 2026 10:00\nPara: Cliente\nAsunto: Impresora\n", "Gracias.", false},
		{"es separator", "Gracias.\n\n-----Mensaje original-----\nDe: Support\n", "Gracias.", false},
		{"es iphone", "Gracias.\n\nEnviado desde mi iPhone\n", "Gracias.", false},
		{"it gmail", "Grazie.\n\nIl giorno mar 24 nov 2026 alle ore 10:00 Support <support@example.it> ha scritto:\n> Riprovi.\n", "Grazie.", false},
		{"it outlook", "Grazie.\n\nDa: Support <support@example.it>\nInviato: martedì 24 novembre 2026 10:00\nA: Cliente\nOggetto: Stampante\n", "Grazie.", false},
		{"it iphone", "Grazie.\n\nInviato da iPhone\n", "Grazie.", false},
		{"pt gmail", "Obrigado.\n\nEm ter., 24 de nov. de 2026 às 10:00, Support <support@example.com.br> escreveu:\n> Tente novamente.\n", "Obrigado.", false},
		{"pt outlook", "Obrigado.\n\nDe: Support <support@example.com.br>\nEnviado: terça-feira, 24 de novembro de 2026 10:00\nPara: Cliente\nAssunto: Impressora\n", "Obrigado.", false},
		{"pt iphone", "Obrigado.\n\nEnviado do meu iPhone\n", "Obrigado.", false},
		{"nl gmail", "Bedankt.\n\nOp di 24 nov 2026 om 10:00 schreef Support <support@example.nl>:\n> Probeer het opnieuw.\n", "Bedankt.", false},
		{"nl outlook", "Bedankt.\n\nVan: Support <support@example.nl>\nVerzonden: dinsdag 24 november 2026 10:00\nAan: Klant\nOnderwerp: Printer\n", "Bedankt.", false},
		{"nl iphone", "Bedankt.\n\nVerzonden vanaf mijn iPhone\n", "Bedankt.", false},
		{"sv gmail", "Tack.\n\nDen tis 24 nov. 2026 kl 10:00 skrev Support <support@example.se>:\n> Försök igen.\n", "Tack.", false},
		{"sv thunderbird", "Tack.\n\nDen 2026-11-24 kl. 10:00, skrev Support:\n> Försök igen.\n", "Tack.", false},
		{"sv outlook", "Tack.\n\nFrån: Support <support@example.se>\nSkickat: den 24 november 2026 10:00\nTill: Kund\nÄmne: Skrivare\n", "Tack.", false},
		{"sv iphone", "Tack.\n\nSkickat från min iPhone\n", "Tack.", false},
		{"pl thunderbird", "Dzięki.\n\nW dniu 24.11.2026 o 10:00, Support pisze:\n> Proszę spróbować ponownie.\n", "Dzięki.", false},
		{"pl gmail", "Dzięki.\n\nwt., 24 lis 2026 o 10:00 Support <support@example.pl> napisał(a):\n> Proszę spróbować ponownie.\n", "Dzięki.", false},
		{"pl outlook", "Dzięki.\n\nOd: Support <support@example.pl>\nWysłano: wtorek, 24 listopada 2026 10:00\nDo: Klient\nTemat: Drukarka\n", "Dzięki.", false},
		{"ru thunderbird", "Спасибо.\n\n24.11.2026 10:00, Support пишет:\n> Попробуйте ещё раз.\n", "Спасибо.", false},
		{"ru name only", "Спасибо.\n\nИван Петров написал(а):\n> Попробуйте ещё раз.\n", "Спасибо.", false},
		{"ru gmail", "Спасибо.\n\nвт, 24 нояб. 2026 г. в 10:00, Support <support@example.ru>:\n> Попробуйте ещё раз.\n", "Спасибо.", false},
		{"ru outlook", "Спасибо.\n\nОт: Support <support@example.ru>\nОтправлено: 24 ноября 2026 г. 10:00\nКому: Клиент\nТема: Принтер\n", "Спасибо.", false},
		{"ru iphone", "Спасибо.\n\nОтправлено с iPhone\n", "Спасибо.", false},
		{"uk thunderbird", "Дякую.\n\n24.11.2026 10:00, Support написав(ла):\n> Спробуйте ще раз.\n", "Дякую.", false},
		{"uk gmail", "Дякую.\n\nвт, 24 лист. 2026 р. о 10:00 Support <support@example.ua> пише:\n> Спробуйте ще раз.\n", "Дякую.", false},
		{"fr gmail wrapped in three", "Merci.\n\nLe mar. 24 nov. 2026 à 10:00, Service clients de la Société Exemple\n<support@example.fr> a\nécrit :\n\n> Réessayez.\n", "Merci.", false},
		{"nl thunderbird", "Bedankt.\n\nOp 24-11-2026 om 10:00 schreef Support:\n> Probeer het opnieuw.\n", "Bedankt.", false},
		{"pl gmail wrapped", "Dzięki.\n\nwt., 24 lis 2026 o 10:00 Dział Obsługi Klienta Przykład <\nsupport@example.pl> napisał(a):\n\n> Proszę spróbować ponownie.\n", "Dzięki.", false},
		{"ru yandex", "Спасибо.\n\n24.11.2026, 10:00, \"Support\" <support@example.ru>:\n> Попробуйте ещё раз.\n", "Спасибо.", false},
		{"ru outlook separator", "Спасибо.\n\n-----Исходное сообщение-----\nОт: Support\n", "Спасибо.", false},
		{"uk outlook", "Дякую.\n\nВід: Support <support@example.ua>\nНадіслано: 24 листопада 2026 р. 10:00\nКому: Клієнт\nТема: Принтер\n", "Дякую.", false},
	})
}

func TestExtractReplyChinese(t *testing.T) {
	t.Parallel()
	runReplyCases(t, []replyCase{
		{"gmail", "谢谢。\n\nSupport <support@example.cn> 于2026年11月24日周二 10:00写道：\n> 请再试一次。\n", "谢谢。", false},
		{"foxmail", "谢谢。\n\n在 2026-11-24 10:00:00，\"Support\"<support@example.cn> 写道：\n> 请再试一次。\n", "谢谢。", false},
		{"gmail traditional", "謝謝。\n\nSupport <support@example.tw> 於 2026年11月24日 週二 上午10:00寫道：\n> 請再試一次。\n", "謝謝。", false},
		{"qq mail", "谢谢。\n\n------------------\u00a0原始邮件\u00a0------------------\n发件人: \"Support\"<support@example.cn>;\n发送时间: 2026年11月24日(星期二) 上午10:00\n收件人: \"客户\"<c@example.cn>;\n主题: 打印机\n\n请再试一次。\n", "谢谢。", false},
		{"outlook", "谢谢。\n\n发件人: Support <support@example.cn>\n发送时间: 2026年11月24日 10:00\n收件人: 客户\n主题: 打印机\n", "谢谢。", false},
		{"outlook separator", "谢谢。\n\n-----原始邮件-----\n发件人: Support\n", "谢谢。", false},
		{"gmail traditional wrapped", "謝謝。\n\nSupport <support@example.tw> 於 2026年11月24日 週二\n上午10:00寫道：\n\n> 請再試一次。\n", "謝謝。", false},
		{"thunderbird traditional", "謝謝。\n\n於 2026/11/24 上午 10:00, Support 寫道:\n> 請再試一次。\n", "謝謝。", false},
		{"iphone", "收到。\n\n发自我的iPhone\n", "收到。", false},
		{"iphone traditional", "收到。\n\n送自我的iPhone\n", "收到。", false},
		{"wrote in prose kept", "文档里写道：\n请先关闭电源。\n", "文档里写道：\n请先关闭电源。", false},
	})
}
