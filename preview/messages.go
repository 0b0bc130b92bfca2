package preview

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"golang.org/x/text/language"
)

// The languages of the page. The certificate it previews may be in any
// language a request may ask for; the page itself is in English or Welsh.
const (
	pageEnglish = "en"
	pageWelsh   = "cy"
)

// pageLanguages are the page's languages, each with its name in itself,
// for the switch between them.
var pageLanguages = []struct{ code, name string }{
	{pageEnglish, "English"},
	{pageWelsh, "Cymraeg"},
}

var pageMatcher = language.NewMatcher([]language.Tag{language.BritishEnglish, language.MustParse("cy")})

// pageLanguage chooses the page's language: the lang query parameter or
// form field when it names one, else the best match for Accept-Language,
// else English.
func pageLanguage(r *http.Request) string {
	for _, v := range []string{r.URL.Query().Get("lang"), r.PostFormValue("lang")} {
		if v == pageEnglish || v == pageWelsh {
			return v
		}
	}
	if h := r.Header.Get("Accept-Language"); h != "" {
		_, i := language.MatchStrings(pageMatcher, h)
		if i == 1 {
			return pageWelsh
		}
	}
	return pageEnglish
}

// pageText is every word the page says, by language. Keys name the place
// on the page; values with %s or %d are filled in there. The Welsh is for
// review by a Welsh-language translator, with templates/wording/cy.
var pageText = map[string]map[string]string{
	pageEnglish: {
		"title":                  "See what your certificate will look like – Baby loss certificate",
		"title.error":            "Error: ",
		"skip":                   "Skip to main content",
		"service":                "Baby loss certificate",
		"switch":                 "Language",
		"error-summary":          "There is a problem",
		"error":                  "Error:",
		"h1":                     "See what your certificate will look like",
		"lede":                   "You can see the certificate before you decide which boxes to fill in. Any box you leave empty is left blank on the certificate.",
		"private":                "Nothing you type here is saved or sent anywhere else. The preview is marked as a specimen, so it cannot be used as a certificate.",
		"language.legend":        "Language of the certificate",
		"language.hint":          "Families in Wales can have the certificate in Welsh, or in Welsh and English.",
		"language.en":            "English",
		"language.cy":            "Welsh",
		"language.cy,en":         "Welsh and English",
		"parentName.label":       "Name and surname of parent",
		"parentName.hint":        "Box 3 on the certificate.",
		"otherParentName.label":  "Name and surname of any other parent (optional)",
		"otherParentName.hint":   "Box 4 on the certificate.",
		"babyName.label":         "Name of baby (optional)",
		"babyName.hint":          "Box 5 on the certificate. This can be a first name, a full name or a nickname.",
		"sex.legend":             "Sex (optional)",
		"sex.hint":               "Box 6 on the certificate.",
		"sex.blank":              "Leave this box blank",
		"sex.female":             "Female",
		"sex.male":               "Male",
		"sex.unknown":            "Unknown",
		"sex.unknown-hint":       "The box will say “Unknown”.",
		"dateOfLoss.legend":      "Date of loss (optional)",
		"dateOfLoss.hint":        "Box 7 on the certificate. For example, 27 3 2024. You can give just the month and year, or just the year.",
		"date.day":               "Day",
		"date.month":             "Month",
		"date.year":              "Year",
		"placeOfLoss.label":      "Place of loss (optional)",
		"placeOfLoss.hint":       "Box 8 on the certificate. For example, a town, a hospital, or ‘Canterbury, Kent’.",
		"button.update":          "Update preview",
		"button.pdf":             "Download a specimen PDF",
		"helpline":               "If you would like to talk to someone, %s offers free, confidential support on %s.",
		"helpline.hours":         "If you would like to talk to someone, %s offers free, confidential support on %s (%s).",
		"preview.title":          "Your preview",
		"preview.alt":            "Specimen of the certificate of baby loss, marked ‘%s’. What it says is written out below.",
		"preview.says":           "What the certificate will say",
		"preview.marked":         "It is marked ‘%s’.",
		"preview.box":            "Box %d",
		"preview.blank":          "Blank",
		"preview.issued-later":   " – filled in when the certificate is issued",
		"preview.busy":           "Sorry, the preview cannot be shown just now. Please try again in a moment.",
		"preview.change-one":     "To see the preview again, please change this:",
		"preview.change-several": "To see the preview again, please change these:",
		"status.updated":         "Preview updated.",
		"status.cannot":          "The preview cannot show these details yet. The reasons are listed under Your preview.",
		"status.failed":          "The preview could not be updated. You can use the Update preview button.",
		// The names of the fields in error messages: "Name of baby is too long …".
		"field.parentName":      "Name and surname of parent",
		"field.otherParentName": "Name and surname of any other parent",
		"field.babyName":        "Name of baby",
		"field.sex":             "Sex",
		"field.dateOfLoss":      "Date of loss",
		"field.placeOfLoss":     "Place of loss",
		"field.language":        "Language of the certificate",
		// How a field's name and its problem make one message.
		"field.message": "%s %s",
	},
	pageWelsh: {
		"title":                  "Gweld sut olwg fydd ar eich tystysgrif – Tystysgrif colli babi",
		"title.error":            "Gwall: ",
		"skip":                   "Neidio i’r prif gynnwys",
		"service":                "Tystysgrif colli babi",
		"switch":                 "Iaith",
		"error-summary":          "Mae problem wedi codi",
		"error":                  "Gwall:",
		"h1":                     "Gweld sut olwg fydd ar eich tystysgrif",
		"lede":                   "Gallwch weld y dystysgrif cyn i chi benderfynu pa flychau i’w llenwi. Bydd unrhyw flwch a adewch yn wag yn cael ei adael yn wag ar y dystysgrif.",
		"private":                "Nid yw dim byd rydych yn ei deipio yma yn cael ei gadw na’i anfon i unman arall. Mae’r rhagolwg wedi’i farcio’n sbesimen, felly ni ellir ei ddefnyddio fel tystysgrif.",
		"language.legend":        "Iaith y dystysgrif",
		"language.hint":          "Gall teuluoedd yng Nghymru gael y dystysgrif yn Gymraeg, neu yn Gymraeg ac yn Saesneg.",
		"language.en":            "Saesneg",
		"language.cy":            "Cymraeg",
		"language.cy,en":         "Cymraeg a Saesneg",
		"parentName.label":       "Enw a chyfenw’r rhiant",
		"parentName.hint":        "Blwch 3 ar y dystysgrif.",
		"otherParentName.label":  "Enw a chyfenw unrhyw riant arall (dewisol)",
		"otherParentName.hint":   "Blwch 4 ar y dystysgrif.",
		"babyName.label":         "Enw’r babi (dewisol)",
		"babyName.hint":          "Blwch 5 ar y dystysgrif. Gall fod yn enw cyntaf, yn enw llawn neu’n llysenw.",
		"sex.legend":             "Rhyw (dewisol)",
		"sex.hint":               "Blwch 6 ar y dystysgrif.",
		"sex.blank":              "Gadael y blwch hwn yn wag",
		"sex.female":             "Benyw",
		"sex.male":               "Gwryw",
		"sex.unknown":            "Anhysbys",
		"sex.unknown-hint":       "Bydd y blwch yn dweud “Anhysbys” (“Unknown” ar dystysgrif Saesneg).",
		"dateOfLoss.legend":      "Dyddiad y golled (dewisol)",
		"dateOfLoss.hint":        "Blwch 7 ar y dystysgrif. Er enghraifft, 27 3 2024. Gallwch roi’r mis a’r flwyddyn yn unig, neu’r flwyddyn yn unig.",
		"date.day":               "Diwrnod",
		"date.month":             "Mis",
		"date.year":              "Blwyddyn",
		"placeOfLoss.label":      "Man y golled (dewisol)",
		"placeOfLoss.hint":       "Blwch 8 ar y dystysgrif. Er enghraifft, tref, ysbyty, neu ‘Aberystwyth, Ceredigion’.",
		"button.update":          "Diweddaru’r rhagolwg",
		"button.pdf":             "Lawrlwytho PDF sbesimen",
		"helpline":               "Os hoffech siarad â rhywun, mae’r %s yn cynnig cymorth cyfrinachol am ddim ar %s.",
		"helpline.hours":         "Os hoffech siarad â rhywun, mae’r %s yn cynnig cymorth cyfrinachol am ddim ar %s (%s).",
		"preview.title":          "Eich rhagolwg",
		"preview.alt":            "Sbesimen o’r dystysgrif colli babi, wedi’i farcio ‘%s’. Mae’r hyn y mae’n ei ddweud wedi’i ysgrifennu isod.",
		"preview.says":           "Beth fydd y dystysgrif yn ei ddweud",
		"preview.marked":         "Mae wedi’i marcio ‘%s’.",
		"preview.box":            "Blwch %d",
		"preview.blank":          "Gwag",
		"preview.issued-later":   " – caiff ei lenwi pan gyhoeddir y dystysgrif",
		"preview.busy":           "Mae’n ddrwg gennym, ni ellir dangos y rhagolwg ar hyn o bryd. Rhowch gynnig arall arni mewn munud.",
		"preview.change-one":     "I weld y rhagolwg eto, newidiwch hyn:",
		"preview.change-several": "I weld y rhagolwg eto, newidiwch y rhain:",
		"status.updated":         "Mae’r rhagolwg wedi’i ddiweddaru.",
		"status.cannot":          "Ni all y rhagolwg ddangos y manylion hyn eto. Mae’r rhesymau wedi’u rhestru o dan Eich rhagolwg.",
		"status.failed":          "Nid oedd modd diweddaru’r rhagolwg. Gallwch ddefnyddio’r botwm Diweddaru’r rhagolwg.",
		"field.parentName":       "Enw a chyfenw’r rhiant",
		"field.otherParentName":  "Enw a chyfenw unrhyw riant arall",
		"field.babyName":         "Enw’r babi",
		"field.sex":              "Rhyw",
		"field.dateOfLoss":       "Dyddiad y golled",
		"field.placeOfLoss":      "Man y golled",
		"field.language":         "Iaith y dystysgrif",
		// Welsh says the field, then the problem: "Enw’r babi: mae’n rhy hir …".
		"field.message": "%s: %s",
	},
}

// text returns the page's words for key in lang. A key missing in Welsh
// falls back to English (a test keeps the two tables alike).
func text(lang, key string) string {
	if s, ok := pageText[lang][key]; ok {
		return s
	}
	return pageText[pageEnglish][key]
}

// problemTranslation turns one of the pipeline's problems, as
// package request and the layout word it in English, into another
// language. Numbers and characters the English quotes are kept.
type problemTranslation struct {
	english *regexp.Regexp
	to      func(m []string) string
}

// welshProblems translates every problem a parent can meet on the page.
// A problem not listed here is shown in English, which a test catches.
// For review by a Welsh-language translator.
var welshProblems = []problemTranslation{
	{re(`^is too long – it has (\d+) characters and the most allowed is (\d+)$`),
		sub("mae’n rhy hir – mae ganddo $1 o nodau a’r nifer mwyaf a ganiateir yw $2")},
	{re(`^is too long to fit in box (\d+) of the certificate, even in smaller text on one line; about (\d+) characters fit$`),
		sub("mae’n rhy hir i ffitio ym mlwch $1 y dystysgrif, hyd yn oed mewn testun llai ar un llinell; mae tua $2 nod yn ffitio")},
	{re(`^is too long to fit in box (\d+) of the certificate, even in smaller text over (\d+) lines; about (\d+) characters fit$`),
		sub("mae’n rhy hir i ffitio ym mlwch $1 y dystysgrif, hyd yn oed mewn testun llai dros $2 llinell; mae tua $3 nod yn ffitio")},
	{re(`^contains (".*"|an invisible control character|an invisible formatting character|a private-use character|a surrogate code point|a character not yet in Unicode|a replacement character) \((U\+[0-9A-F]{4,6})\), which cannot be printed(; it usually means the text was damaged before it reached Quire|: Quire's typefaces cover the Latin, Greek and Cyrillic alphabets)?(?: \(and (\d+) more characters? that cannot be printed\))?$`),
		func(m []string) string {
			what := map[string]string{
				"an invisible control character":    "nod rheoli anweledig",
				"an invisible formatting character": "nod fformatio anweledig",
				"a private-use character":           "nod defnydd preifat",
				"a surrogate code point":            "pwynt cod dirprwyol",
				"a character not yet in Unicode":    "nod nad yw yn Unicode eto",
				"a replacement character":           "nod amnewid",
			}[m[1]]
			if what == "" {
				what = "“" + strings.TrimSuffix(strings.TrimPrefix(m[1], `"`), `"`) + "”"
			}
			note := map[string]string{
				"; it usually means the text was damaged before it reached Quire":   "; fel arfer mae’n golygu bod y testun wedi’i ddifrodi cyn iddo gyrraedd Quire",
				": Quire's typefaces cover the Latin, Greek and Cyrillic alphabets": ": mae ffurfdeipiau Quire yn cwmpasu’r wyddor Ladin, yr wyddor Roeg a’r wyddor Syrilig",
			}[m[3]]
			more := ""
			switch m[4] {
			case "":
			case "1":
				more = " (ac 1 nod arall na ellir ei argraffu)"
			default:
				more = " (a " + m[4] + " nod arall na ellir eu hargraffu)"
			}
			return "mae’n cynnwys " + what + " (" + m[2] + "), na ellir ei argraffu" + note + more
		}},
	{re(`^is not valid UTF-8 text$`), sub("nid yw’n destun UTF-8 dilys")},
	{re(`^is not a real calendar date – check the day and the month$`), sub("nid yw’n ddyddiad go iawn – gwiriwch y diwrnod a’r mis")},
	{re(`^must be a date written YYYY-MM-DD, or YYYY-MM for a month, or YYYY for a year$`),
		sub("rhaid iddo fod yn ddyddiad ar ffurf BBBB-MM-DD, neu BBBB-MM ar gyfer mis, neu BBBB ar gyfer blwyddyn")},
	{re(`^must be in (\d+) or later$`), sub("rhaid iddo fod yn $1 neu’n hwyrach")},
	{re(`^is after the date of issue – a loss cannot be later than its certificate$`),
		sub("mae ar ôl y dyddiad cyhoeddi – ni all colled fod yn hwyrach na’i thystysgrif")},
	{re(`^must be "male", "female" or "unknown", or left blank$`), sub("rhaid iddo fod yn “male”, “female” neu “unknown”, neu’n wag")},
	{re(`^must include a year$`), sub("rhaid iddo gynnwys blwyddyn")},
	{re(`^must include a month if it includes a day – or leave the day blank$`),
		sub("rhaid iddo gynnwys mis os yw’n cynnwys diwrnod – neu gadewch y diwrnod yn wag")},
	{re(`^must have a year of 4 numbers, like 2024$`), sub("rhaid i’r flwyddyn fod yn 4 rhif, fel 2024")},
	{re(`^must have a month written as a number from 1 to 12, like 3 for March$`),
		sub("rhaid i’r mis fod yn rhif o 1 i 12, fel 3 ar gyfer Mawrth")},
	{re(`^must have a day written as a number, like 27$`), sub("rhaid i’r diwrnod fod yn rhif, fel 27")},
	{re(`^must be "en" \(English\), "cy" \(Welsh\) or "cy,en" \(bilingual, Welsh first\)$`),
		sub("rhaid iddi fod yn Saesneg, yn Gymraeg neu yn Gymraeg a Saesneg")},
}

func re(s string) *regexp.Regexp { return regexp.MustCompile(s) }

// sub is a translation that fills $1, $2 … from the English.
func sub(template string) func([]string) string {
	return func(m []string) string {
		out := template
		for i := len(m) - 1; i >= 1; i-- {
			out = strings.ReplaceAll(out, fmt.Sprintf("$%d", i), m[i])
		}
		return out
	}
}

// translateProblem words an English problem in lang, or returns it as it
// is (ok false) when there is no translation.
func translateProblem(lang, problem string) (string, bool) {
	if lang != pageWelsh {
		return problem, true
	}
	for _, tr := range welshProblems {
		if m := tr.english.FindStringSubmatch(problem); m != nil {
			return tr.to(m), true
		}
	}
	return problem, false
}
