package email

import (
	"regexp"
	"strings"
)

// The words mail clients write around quoted history, per language. Each
// table row names the client or language it comes from; quote.go decides
// where and how they count. All patterns are compiled once, here.

// attributionVerbs end an attribution line ("On … wrote:", "Le … a écrit :",
// "… 写道："), before its colon.
var attributionVerbs = []string{
	`wrote`, `writes`, // en: Gmail, Apple Mail, Thunderbird, Becky!, Yahoo, Outlook
	`a écrit`,                                      // fr: "Le … a écrit :"
	`escribió`,                                     // es: "El … escribió:"
	`ha scritto`,                                   // it: "Il … ha scritto:"
	`escreveu`,                                     // pt: "Em … escreveu:"
	`pisze`, `napisał\(a\)`, `napisał`, `napisała`, // pl: "W dniu … pisze:", Gmail "… napisał(a):"
	`написал\(а\)`, `написал`, `написала`, `пишет`, // ru
	`написав\(ла\)`, `написав`, `пише`, // uk
	`kirjoitti`, // fi
}

// attributionVerbsCJK end an attribution line without a space before them.
var attributionVerbsCJK = []string{
	`写道`, `寫道`, // zh: Gmail "… 于2026年11月24日周二 10:00写道：", Foxmail "在 … 写道："
	`書きました`,          // ja: Thunderbird, Evolution "2026/11/24 10:00 に 山田太郎 さんは書きました:"
	`のメール`, `のメッセージ`, // ja: Apple Mail "2026/11/24 10:00、山田太郎 <…>のメール:"
	`작성`, `씀`, `썼습니다`, // ko: Gmail "…님이 작성:", Apple Mail "… 작성:"
}

// attributionVerbsNoColon are the endings some clients write without a colon.
var attributionVerbsNoColon = []string{`님이\s*작성`, `님이\s*씀`, `님이\s*썼습니다`, `さんは書きました`, `さんが書きました`}

// attributionVerbsMiddle stand between the date and the name: "Am … schrieb
// Name:" (de), "Op … schreef Name:" (nl), "Den … skrev Name:" (sv, da, no);
// and the name-first forms "Name schrieb am …:", "Name wrote on …:".
var (
	attributionMiddle    = `^(?:am|op|den|d\.)\s.{1,200}\s(?:schrieb|schreef|skrev)\s.{1,200}[:：]$`
	attributionNameFirst = `^.{1,200}\s(?:schrieb am|schreef op|skrev den|wrote on|a écrit le)\s.{1,200}[:：]$`
)

var (
	// attributionVerbPattern is a line that ends in an attribution verb, or
	// holds one of the verbs that stand in the middle.
	attributionVerbPattern = regexp.MustCompile(
		`(?i:^.{0,400}(?:^|[\s)>"'»])(?:` + strings.Join(attributionVerbs, "|") + `)\s*[:：]$)` +
			`|(?:^.{0,400}(?:(?:` + strings.Join(attributionVerbsCJK, "|") + `)\s*[:：]|(?:` +
			strings.Join(attributionVerbsNoColon, "|") + `)\s*)$)` +
			`|(?i:` + attributionMiddle + `)|(?i:` + attributionNameFirst + `)`)
	// "Date Name <addr>:" with no verb: Gmail in Japanese
	// ("2026年11月24日(火) 10:00 山田太郎 <…>:"), Russian ("пн, 24 нояб. 2026 г. в
	// 10:00, Name <…>:"), Yandex and Mail.ru.
	attributionDatePattern = regexp.MustCompile(`^.{0,200}\d[:：]\d\d.{0,200}(?:<\s*[^<>\s@]+@[^<>\s]+\s*>|\s[^<>\s@]+@[^<>\s]+)\s*[:：]$`)
)

// separatorPattern is a line that opens a copied message: Outlook's
// "-----Original Message-----", Gmail's "---------- Forwarded message
// ---------", Thunderbird's "-------- Original Message --------", Zoho's
// "============ Forwarded message ============", QQ Mail's "------------------
// 原始邮件 ------------------", in their localized forms.
var separatorPhrases = []string{
	// Outlook, Thunderbird, Yahoo, Naver: the original message
	`original message`, `ursprüngliche nachricht`, `originalnachricht`, `message d'origine`, `message original`,
	`mensaje original`, `messaggio originale`, `mensagem original`, `oorspronkelijk bericht`,
	`ursprungligt meddelande`, `originalmeddelande`, `wiadomość oryginalna`, `oryginalna wiadomość`,
	`исходное сообщение`, `оригинальное сообщение`, `вихідне повідомлення`, `оригінальне повідомлення`,
	`原始邮件`, `原始郵件`, `原邮件`, `元のメッセージ`, `オリジナル メッセージ`, `원본 메시지`, `원본 메일`, `원본메일`,
	// Gmail, Thunderbird, Zoho: forwarded message
	`forwarded message`, `weitergeleitete nachricht`, `message transféré`, `mensaje reenviado`,
	`messaggio inoltrato`, `mensagem encaminhada`, `doorgestuurd bericht`, `vidarebefordrat meddelande`,
	`przekazana wiadomość`, `пересылаемое сообщение`, `пересланное сообщение`, `переслане повідомлення`,
	`转发的邮件`, `轉寄的郵件`, `転送されたメッセージ`, `転送メッセージ`, `전달된 메시지`, `전달된 메일`,
	`forwarded by .{1,100}`,
}

var (
	separatorPattern = regexp.MustCompile(`(?i)^[-=]{2,}[\s\x{00a0}]*(?:` + strings.Join(separatorPhrases, "|") + `)[\s\x{00a0}]*[-=]*$`)
	// Apple Mail's forward header, which has no dashes.
	forwardHeaderPattern = regexp.MustCompile(`(?i)^(?:begin forwarded message|anfang der weitergeleiteten nachricht|début du message réexpédié|inicio del mensaje reenviado|inizio messaggio inoltrato|転送されたメッセージ)\s*[:：]$`)
)

// Header fields of a copied message (Outlook and most webmails), per
// language: From/Sent/To/Cc/Subject; Von/Gesendet/An/Betreff; De/Envoyé/À/
// Objet; De/Enviado/Para/Asunto; Da/Inviato/A/Oggetto; Van/Verzonden/Aan/
// Onderwerp; Från/Skickat/Till/Ämne; Od/Wysłano/Do/Temat; От/Отправлено/Кому/
// Тема; Від/Надіслано/Кому/Тема; 发件人/发送时间/收件人/主题; 差出人/送信日時/
// 宛先/件名; 보낸 사람/보낸 날짜/받는 사람/제목.
var (
	fromFieldNames = []string{`from`, `von`, `de`, `da`, `van`, `från`, `fra`, `od`, `от`, `від`, `差出人`, `送信者`,
		`发件人`, `發件人`, `寄件者`, `寄件人`, `보낸\s*사람`}
	sentFieldNames = []string{`sent`, `date`, `gesendet`, `datum`, `envoyé`, `date d'envoi`, `enviado`, `enviada`,
		`fecha`, `inviato`, `data`, `verzonden`, `skickat`, `sendt`, `wysłano`, `отправлено`, `дата`, `надіслано`,
		`送信日時`, `送信日`, `日付`, `日時`, `发送时间`, `發送時間`, `日期`, `寄件日期`, `傳送時間`, `時間`,
		`보낸\s*날짜`, `날짜`}
	otherFieldNames = []string{`to`, `an`, `à`, `a`, `para`, `aan`, `till`, `til`, `do`, `кому`, `宛先`, `收件人`, `收件者`,
		`받는\s*사람`, `cc`, `bcc`, `kopie`, `copie`, `kopia`, `копия`, `копія`, `抄送`, `副本`, `참조`,
		`subject`, `betreff`, `objet`, `asunto`, `oggetto`, `assunto`, `onderwerp`, `ämne`, `emne`, `temat`, `тема`,
		`件名`, `主题`, `主旨`, `제목`, `reply-to`, `importance`, `wichtigkeit`, `priorität`, `重要度`, `중요도`,
		`attachments`, `anlagen`, `添付ファイル`, `첨부`}
)

func fieldPattern(names ...[]string) *regexp.Regexp {
	var all []string
	for _, n := range names {
		all = append(all, n...)
	}
	// Gmail renders Outlook's bold field names from HTML as "*From:*".
	return regexp.MustCompile(`(?i)^\*?(?:` + strings.Join(all, "|") + `)\s*\*?\s*[:：]`)
}

var (
	fromField = fieldPattern(fromFieldNames)
	sentField = fieldPattern(sentFieldNames)
	anyField  = fieldPattern(fromFieldNames, sentFieldNames, otherFieldNames)
)

// mobileSignaturePattern is a line a phone or mail app adds on its own
// ("Sent from my iPhone", "iPhoneから送信", "Galaxy에서 보냄", "Get Outlook for
// iOS"), never words the customer wrote.
var mobileSignaturePattern = func() *regexp.Regexp {
	device := `(?:iphone|ipad|ipod|android|galaxy|samsung|blackberry|huawei|xiaomi|pixel|mobile|smartphone|` +
		`windows phone|iOS|my phone|cell phone|handy|mobil|mobile device|` +
		`スマートフォン|携帯|スマホ|갤럭시|안드로이드|휴대폰|아이폰|手机|手機)(?:[ \-][a-z0-9+]{1,12}){0,3}`
	app := `(?:outlook|mail|yahoo mail|aol|gmail|proton ?mail|samsung email|blue mail|spark)` +
		`(?: for (?:ios|android|iphone|ipad|windows|mac))?`
	forms := []string{
		`sent from (?:my )?` + device, `sent from ` + app, `sent with ` + app, `get ` + app,
		`sent via ` + app, `sent using ` + app,
		`von meinem ` + device + ` gesendet`, `gesendet von (?:meinem )?` + device, `gesendet mit ` + app,
		`envoyé de mon ` + device, `envoyé depuis (?:mon )?` + device, `envoyé avec ` + app, `envoyé de ` + app,
		`enviado desde mi ` + device, `enviado desde ` + app, `obtener ` + app,
		`inviato da (?:il mio )?` + device, `inviato da ` + app, `scarica ` + app,
		`enviado do meu ` + device, `enviado do ` + app, `baixe o ` + app,
		`verzonden (?:vanaf|met) mijn ` + device, `verzonden (?:vanaf|met) ` + app,
		`skickat från min ` + device, `skickat från ` + app, `hämta ` + app,
		`wysłane z (?:mojego )?` + device, `wysłane z ` + app,
		`отправлено с (?:моего )?` + device, `отправлено из ` + app,
		`надіслано з (?:мого )?` + device, `надіслано з ` + app,
		`(?:私の)?` + device + `\s*から送信`, app + `\s*から送信`,
		`(?:나의 )?` + device + `\s*에서 (?:보냄|보냈습니다|전송)`, app + `\s*에서 보냄`,
		`(?:送自|发自|發自|来自|來自)我的\s*` + device, `(?:从|從)我的\s*` + device + `\s*(?:发送|發送|傳送)`,
	}
	return regexp.MustCompile(`(?i)^(?:` + strings.Join(forms, "|") + `)[.!。]?(?:\s*[<(\[]?https?://\S*[>)\]]?)?$`)
}()
