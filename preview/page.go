package preview

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"image/png"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/quire-print/quire/request"
	"github.com/quire-print/quire/templates"
)

// pageWidth is the width of the page's preview image in pixels: sharp at
// the image's widest on a screen with twice as many pixels as CSS pixels.
const pageWidth = DefaultWidth

// pageForm is the page's form as it was filled in, kept as typed so the
// page can show it again.
type pageForm struct {
	// Language is the certificate's language, as a request gives it.
	Language        string
	ParentName      string
	OtherParentName string
	BabyName        string
	Sex             string
	Day             string
	Month           string
	Year            string
	PlaceOfLoss     string
}

// The form's fields in order, by the name each has in the request (and
// the error messages' field). The words the page uses for each are in
// pageText, under "field.<name>".
var formFields = []string{"language", "parentName", "otherParentName", "babyName", "sex", "dateOfLoss", "placeOfLoss"}

// pageError is one problem with the form: its message, the field it is
// about and the id of the input the error summary links to.
type pageError struct {
	Field   string
	InputID string
	Message string
}

// pageData is everything the page template shows.
type pageData struct {
	CSS, JS string
	// Lang is the page's language: "en" or "cy".
	Lang   string
	Form   pageForm
	Errors []pageError
	// ErrorFor holds each field's message, for the message by the field.
	ErrorFor map[string]string
	// DateParts marks the parts of the date of loss the error is about.
	DateParts map[string]bool
	Preview   *pagePreview
	// Busy says the preview could not be made because Quire is busy.
	Busy bool
	// Helpline is the support line the letter names, in a sentence for
	// the page's foot; empty when the letter names none.
	Helpline string
}

// T returns the page's words for key in the page's language.
func (data *pageData) T(key string) string { return text(data.Lang, key) }

// languageChoice is one way to switch the page's language.
type languageChoice struct {
	Code, Name string
	Current    bool
}

// Languages lists the page's languages for the switch between them.
func (data *pageData) Languages() []languageChoice {
	out := make([]languageChoice, len(pageLanguages))
	for i, l := range pageLanguages {
		out[i] = languageChoice{Code: l.code, Name: l.name, Current: l.code == data.Lang}
	}
	return out
}

// CertificateLanguages are the languages the certificate can be
// previewed in, as the form's choices.
func (data *pageData) CertificateLanguages() []string { return request.Languages }

// helpline is a support line, from the carriage letter's constants, so
// that the page and the letter name the same one.
type helpline struct{ Name, Phone, Hours string }

// helplineFrom reads the helpline from the current carriage letter in
// lang, so that the page names it as the letter does: its name and hours
// in the letter's wording, or its constants for a letter without. It is
// empty, and the page says nothing of it, if the letter has none.
func helplineFrom(set *templates.Set, lang string) helpline {
	t, err := set.Get(request.DefaultTemplate(request.DefaultLetterTemplate, lang), 0)
	if err != nil {
		return helpline{}
	}
	c := t.Constants
	h := helpline{Name: c["helpline-name"], Phone: c["helpline-phone"], Hours: c["helpline-hours"]}
	if w := t.WordingFor(lang); w != nil {
		h.Name, h.Hours = w.Text["helpline.name"], w.Text["helpline.hours"]
	}
	if h.Name == "" || h.Phone == "" {
		return helpline{}
	}
	return h
}

// sentence is the helpline in a sentence of the page, in lang.
func (h helpline) sentence(lang string) string {
	switch {
	case h.Name == "":
		return ""
	case h.Hours == "":
		return fmt.Sprintf(text(lang, "helpline"), h.Name, h.Phone)
	}
	return fmt.Sprintf(text(lang, "helpline.hours"), h.Name, h.Phone, h.Hours)
}

// pagePreview is the preview on the page: the image, inline, and what it
// says.
type pagePreview struct {
	// Lang is the certificate's language when it is not the page's, for
	// the text alternative: its first language when bilingual.
	Lang          string
	Image         template.URL
	Width, Height int
	Text          *TextAlternative
}

// page serves the empty form and the empty certificate, in the page's
// language (?lang=cy, or Accept-Language) with the certificate in it too.
func (h *Handler) page(w http.ResponseWriter, r *http.Request, rec *record) {
	data := h.newPageData(pageLanguage(r))
	data.Form.Language = data.Lang
	c := &request.Certificate{Template: request.DefaultTemplate(request.DefaultCertificateTemplate, data.Lang)}
	h.previewInto(r.Context(), data, c, rec)
	h.renderPage(w, data, "no-cache")
}

// pagePost serves the page with a preview of what was typed. The page's
// script asks for the preview panel alone (partial=1) as the parent types.
func (h *Handler) pagePost(w http.ResponseWriter, r *http.Request, rec *record) {
	form, ok := h.readForm(w, r)
	if !ok {
		return
	}
	data := h.newPageData(pageLanguage(r))
	data.Form = form
	c := h.check(data)
	if c != nil {
		h.previewInto(r.Context(), data, c, rec)
	}
	if r.PostForm.Get("partial") == "1" {
		h.renderPartial(w, data)
		return
	}
	h.renderPage(w, data, cachePersonal)
}

// pagePDF sends a specimen PDF of what was typed, or the page with the
// problems that stop one being made.
func (h *Handler) pagePDF(w http.ResponseWriter, r *http.Request, rec *record) {
	form, ok := h.readForm(w, r)
	if !ok {
		return
	}
	data := h.newPageData(pageLanguage(r))
	data.Form = form
	c := h.check(data)
	if c == nil {
		h.renderPage(w, data, cachePersonal)
		return
	}
	j, err := h.certificateJob(c, formatPDF, 0)
	var body []byte
	if err == nil {
		body, rec.cache, err = h.get(r.Context(), j)
	}
	if err != nil {
		h.pageFailure(data, err, rec)
		h.renderPage(w, data, cachePersonal)
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "application/pdf")
	hdr.Set("Content-Disposition", `attachment; filename="specimen-certificate.pdf"`)
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	hdr.Set("Cache-Control", cachePersonal)
	hdr.Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(body)
}

// readForm parses the form, within the size a request may have.
func (h *Handler) readForm(w http.ResponseWriter, r *http.Request) (pageForm, bool) {
	r.Body = http.MaxBytesReader(w, r.Body, request.MaxRequestSize)
	if err := r.ParseForm(); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeProblem(w, problemTooLarge)
		} else {
			writeProblem(w, problemMalformed.with("The form could not be read.", nil))
		}
		return pageForm{}, false
	}
	v := r.PostForm
	return pageForm{
		Language:        strings.ReplaceAll(strings.TrimSpace(v.Get("language")), " ", ""),
		ParentName:      v.Get("parentName"),
		OtherParentName: v.Get("otherParentName"),
		BabyName:        v.Get("babyName"),
		Sex:             v.Get("sex"),
		Day:             strings.TrimSpace(v.Get("dateOfLoss-day")),
		Month:           strings.TrimSpace(v.Get("dateOfLoss-month")),
		Year:            strings.TrimSpace(v.Get("dateOfLoss-year")),
		PlaceOfLoss:     v.Get("placeOfLoss"),
	}, true
}

// check turns the form into a certificate, through the same decoding and
// validation as the API, and records every problem in data. It returns
// nil when there is a problem.
func (h *Handler) check(data *pageData) *request.Certificate {
	f := data.Form
	fields := map[string]string{
		"parentName":      f.ParentName,
		"otherParentName": f.OtherParentName,
		"babyName":        f.BabyName,
		"sex":             f.Sex,
		"placeOfLoss":     f.PlaceOfLoss,
	}
	date, dateErr := f.dateOfLoss()
	fields["dateOfLoss"] = date
	body, err := json.Marshal(fields)
	if err != nil {
		panic("preview: cannot encode a form: " + err.Error())
	}
	lang := f.Language
	var errs request.Errors
	switch {
	case lang == "":
		lang = data.Lang
		data.Form.Language = lang
	case request.LanguageProblem(lang) != "":
		errs.Add("language", "%s", request.LanguageProblem(lang))
		lang = data.Lang
	}
	d := h.decoder()
	// A date typed wrongly, or a language Quire does not have, is a
	// problem the decoder cannot see: lay the rest out now, since there
	// will be no preview to find its problems.
	d.FitOnlyWithProblems = dateErr == nil && len(errs) == 0
	c, err := d.DecodeCertificate(body, request.CertificateOptions{Preview: true, Language: lang})
	var decodeErrs request.Errors
	if err != nil && !errors.As(err, &decodeErrs) {
		decodeErrs = request.Errors{{Problem: err.Error()}}
	}
	errs = append(errs, decodeErrs...)
	if dateErr != nil {
		errs = append(errs, request.FieldError{Field: "dateOfLoss", Problem: dateErr.problem})
		data.DateParts = dateErr.parts
	}
	if len(errs) == 0 {
		return c
	}
	data.setErrors(errs)
	return nil
}

// setErrors records field problems in the form's order, each worded as a
// sentence about the field the parent sees, in the page's language: a
// problem with a character is worded for parents, naming the character as
// they typed it, with what to do, never by its code point.
func (data *pageData) setErrors(errs request.Errors) {
	data.ErrorFor = map[string]string{}
	for _, field := range formFields {
		for _, e := range errs {
			if e.Field != field || data.ErrorFor[field] != "" {
				continue
			}
			problem, _ := translateProblem(data.Lang, e.Problem)
			if e.Char.Rule != request.NoCharRule {
				problem = e.ForParentIn(data.Lang)
			}
			msg := fmt.Sprintf(data.T("field.message"), data.T("field."+field), problem)
			data.ErrorFor[field] = msg
			data.Errors = append(data.Errors, pageError{Field: field, InputID: data.inputID(field), Message: msg})
		}
	}
	// Problems with no field of the form (a template that cannot be
	// found, say) still need saying.
	for _, e := range errs {
		if _, ok := data.ErrorFor[e.Field]; !ok {
			problem, _ := translateProblem(data.Lang, e.Problem)
			msg := problem
			if e.Field != "" {
				msg = e.Field + ": " + problem
			}
			data.Errors = append(data.Errors, pageError{InputID: "parentName", Message: msg})
		}
	}
}

// inputID is the input an error about field links to: for the date, the
// first part the error is about, or the first part filled in.
func (data *pageData) inputID(field string) string {
	switch field {
	case "language":
		return "language"
	case "sex":
		return "sex"
	case "dateOfLoss":
		for _, part := range []string{"day", "month", "year"} {
			if data.DateParts[part] {
				return "dateOfLoss-" + part
			}
		}
		switch {
		case data.Form.Day != "":
			return "dateOfLoss-day"
		case data.Form.Month != "":
			return "dateOfLoss-month"
		}
		return "dateOfLoss-year"
	}
	return field
}

// dateError is a problem with how the date of loss was typed, before
// the date itself can be checked.
type dateError struct {
	problem string
	parts   map[string]bool
}

func (e *dateError) Error() string { return e.problem }

// monthNames lets a parent type the month as a word, in English or in
// Welsh ("Mawrth", "Tachwedd").
var monthNames = func() map[string]int {
	m := map[string]int{}
	for i := time.January; i <= time.December; i++ {
		name := strings.ToLower(i.String())
		m[name], m[name[:3]] = int(i), int(i)
	}
	m["sept"] = int(time.September)
	welsh := []string{"ionawr", "chwefror", "mawrth", "ebrill", "mai", "mehefin", "gorffennaf", "awst", "medi", "hydref", "tachwedd", "rhagfyr"}
	for i, name := range welsh {
		m[name] = i + 1
	}
	return m
}()

// dateOfLoss writes the typed day, month and year as the request's
// partial date: "2024", "2024-03" or "2024-03-27". Whether that date is
// real is for request validation to say, in the pipeline's words.
func (f pageForm) dateOfLoss() (string, *dateError) {
	d, m, y := f.Day, f.Month, f.Year
	if d == "" && m == "" && y == "" {
		return "", nil
	}
	fail := func(problem string, parts ...string) (string, *dateError) {
		e := &dateError{problem: problem, parts: map[string]bool{}}
		for _, p := range parts {
			e.parts[p] = true
		}
		return "", e
	}
	if y == "" {
		return fail("must include a year", "year")
	}
	if d != "" && m == "" {
		return fail("must include a month if it includes a day – or leave the day blank", "month")
	}
	if len(y) != 4 || !digits(y) {
		return fail("must have a year of 4 numbers, like 2024", "year")
	}
	month := 0
	if m != "" {
		n, ok := monthNames[strings.ToLower(m)]
		if !ok {
			if !digits(m) || len(m) > 2 {
				return fail("must have a month written as a number from 1 to 12, like 3 for March", "month")
			}
			n, _ = strconv.Atoi(m)
		}
		month = n
	}
	if d != "" && (!digits(d) || len(d) > 2) {
		return fail("must have a day written as a number, like 27", "day")
	}
	switch {
	case m == "":
		return y, nil
	case d == "":
		return fmt.Sprintf("%s-%02d", y, month), nil
	}
	day, _ := strconv.Atoi(d)
	return fmt.Sprintf("%s-%02d-%02d", y, month, day), nil
}

func digits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// previewInto draws certificate c for the page and puts it, with its text
// alternative, into data; or records why it could not.
func (h *Handler) previewInto(ctx context.Context, data *pageData, c *request.Certificate, rec *record) {
	j, err := h.certificateJob(c, formatPNG, pageWidth)
	var img []byte
	if err == nil {
		img, rec.cache, err = h.get(ctx, j)
	}
	var alt *TextAlternative
	if err == nil {
		alt, err = certificateText(j.t, j.cert)
	}
	if err != nil {
		h.pageFailure(data, err, rec)
		return
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(img))
	if err != nil {
		h.pageFailure(data, err, rec)
		return
	}
	lang := j.t.Languages()[0]
	if lang == data.Lang {
		lang = ""
	}
	data.Preview = &pagePreview{
		Lang:  lang,
		Image: template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(img)),
		Width: cfg.Width, Height: cfg.Height, Text: alt,
	}
}

// pageFailure records on the page why the preview could not be made.
func (h *Handler) pageFailure(data *pageData, err error, rec *record) {
	var errs request.Errors
	switch {
	case errors.As(err, &errs):
		data.setErrors(errs)
	case errors.Is(err, errBusy), errors.Is(err, errAbandoned),
		errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		data.Busy = true
	default:
		h.logFailure(rec, err)
		data.Busy = true
	}
}

// status is the HTTP status of a page: 422 when the form has problems,
// 503 when Quire was too busy to draw the preview.
func (data *pageData) status() int {
	switch {
	case len(data.Errors) > 0:
		return http.StatusUnprocessableEntity
	case data.Busy:
		return http.StatusServiceUnavailable
	}
	return http.StatusOK
}

func (h *Handler) newPageData(lang string) *pageData {
	return &pageData{CSS: h.assetURL("preview.css"), JS: h.assetURL("preview.js"), Lang: lang, Helpline: h.helplines[lang].sentence(lang)}
}

// renderPage writes the whole page.
func (h *Handler) renderPage(w http.ResponseWriter, data *pageData, cacheControl string) {
	h.renderHTML(w, "page", data, cacheControl)
}

// renderPartial writes the preview panel alone, for the page's script.
func (h *Handler) renderPartial(w http.ResponseWriter, data *pageData) {
	h.renderHTML(w, "preview", data, cachePersonal)
}

// pageCSP lets the page load only its own style sheet and script, and
// images only from itself or inline (the preview is a data: URL).
const pageCSP = "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

func (h *Handler) renderHTML(w http.ResponseWriter, name string, data *pageData, cacheControl string) {
	var buf bytes.Buffer
	if err := pageTemplates.ExecuteTemplate(&buf, name, data); err != nil {
		h.log.Error("preview page failed", "err", err)
		http.Error(w, "The page could not be shown. Please try again.", http.StatusInternalServerError)
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "text/html; charset=utf-8")
	hdr.Set("Content-Language", data.Lang)
	hdr.Set("Vary", "Accept-Language")
	hdr.Set("Content-Length", strconv.Itoa(buf.Len()))
	hdr.Set("Cache-Control", cacheControl)
	hdr.Set("Content-Security-Policy", pageCSP)
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Referrer-Policy", "no-referrer")
	if data.Busy {
		hdr.Set("Retry-After", retryAfter)
	}
	w.WriteHeader(data.status())
	_, _ = w.Write(buf.Bytes())
}

// issuedLater reports whether a box is filled in only when the
// certificate is issued, so the page can say why it is blank.
func issuedLater(field string) bool { return field == "reference" || field == "dateOfIssue" }

// textField is what the page template needs to draw one text input.
type textField struct {
	ID, Label, Hint, Autocomplete, Value, Error string
	// ErrorWord is "Error:", said before the message to screen readers.
	ErrorWord string
}

// field describes the text input for a request field, in the page's words.
func (data *pageData) field(id, autocomplete, value string) textField {
	return textField{ID: id, Label: data.T(id + ".label"), Hint: data.T(id + ".hint"), Autocomplete: autocomplete,
		Value: value, Error: data.ErrorFor[id], ErrorWord: data.T("error")}
}

// datePart is what the page template needs to draw one part of the date.
type datePart struct {
	Name, Label, Value string
	Width              int
	Error              bool
}

// part describes one input of the date of loss. An error the page found
// in the typing marks the parts it is about; one from validation (a date
// that never was) marks every part filled in.
func (data *pageData) part(name, value string, width int) datePart {
	p := datePart{Name: name, Label: data.T("date." + name), Value: value, Width: width}
	if data.ErrorFor["dateOfLoss"] != "" {
		if data.DateParts != nil {
			p.Error = data.DateParts[name]
		} else {
			p.Error = value != ""
		}
	}
	return p
}

var pageTemplates = template.Must(template.New("").Funcs(template.FuncMap{
	"issuedLater": issuedLater,
	"field":       (*pageData).field,
	"part":        (*pageData).part,
}).ParseFS(webFS, "web/*.html"))
