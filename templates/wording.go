package templates

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Wording is one language's words for the templates: every label, heading
// and paragraph, the month names and sex values that go into boxes, and
// how a list is joined. It lives in one file per language and version,
// templates/wording/<language>/v<version>.yaml, so that a translator
// checks a language in one place. Like a template, a released version never
// changes: templates name the version they use ("cy@1").
type Wording struct {
	// Language is a BCP 47 tag: "en", "cy".
	Language string `yaml:"language"`
	// Version counts from 1; each released version is immutable.
	Version int `yaml:"version"`
	// Name is the language's name in itself: "Cymraeg", "English".
	Name string `yaml:"name"`
	// Months are the names of the months, January first, as a date is
	// written on a certificate: "19 Tachwedd 2024".
	Months []string `yaml:"months"`
	// Sex holds the words box 6 prints for "male", "female" and "unknown".
	Sex map[string]string `yaml:"sex"`
	// And joins the last two items of a list ("A and B"); AndBeforeVowel
	// replaces it before an item that starts with a vowel, as Welsh "ac"
	// replaces "a". Empty means And.
	And            string `yaml:"and"`
	AndBeforeVowel string `yaml:"and-before-vowel"`
	// Vowels are the letters AndBeforeVowel goes before.
	Vowels string `yaml:"vowels"`
	// Numbers are the words for counts from zero ({count}); beyond them a
	// count is written in figures.
	Numbers []string `yaml:"numbers"`
	// Text holds the wording by key. Template text refers to an entry as
	// {<language>:<key>}, e.g. {cy:certificate.title}. An entry may use the
	// placeholders of the text it goes into ({date}, {references}, …),
	// which are then filled in this language, and {issuer}, the entry
	// issuer.<name> the template's issuer setting names.
	Text map[string]string `yaml:"text"`

	// File is where the wording was loaded from, for error messages.
	File string `yaml:"-"`
	// Digest is the SHA-256 of the wording file, hex.
	Digest string `yaml:"-"`
}

// Ref is "language@version", as templates name a wording.
func (w *Wording) Ref() string { return w.Language + "@" + strconv.Itoa(w.Version) }

// Date writes a date, full or partial, as it reads on paper in w's
// language: "19 Tachwedd 2024", "Mawrth 2025" or "2025". month and day are
// 0 when not known; year 0 gives "".
func (w *Wording) Date(year, month, day int) string {
	switch {
	case year == 0:
		return ""
	case month < 1 || month > len(w.Months):
		return strconv.Itoa(year)
	case day == 0:
		return w.Months[month-1] + " " + strconv.Itoa(year)
	default:
		return strconv.Itoa(day) + " " + w.Months[month-1] + " " + strconv.Itoa(year)
	}
}

// JoinAnd joins items as a person writes a list: "A", "A and B", "A, B
// and C"; in Welsh "A a B", and "A ac E" before a vowel.
func (w *Wording) JoinAnd(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	last := items[len(items)-1]
	and := w.And
	if r, _ := firstRune(last); w.AndBeforeVowel != "" && r != 0 && strings.ContainsRune(w.Vowels, r) {
		and = w.AndBeforeVowel
	}
	return strings.Join(items[:len(items)-1], ", ") + " " + and + " " + last
}

// Count writes a count in words, or in figures beyond Numbers.
func (w *Wording) Count(n int) string {
	if n >= 0 && n < len(w.Numbers) {
		return w.Numbers[n]
	}
	return strconv.Itoa(n)
}

func firstRune(s string) (rune, bool) {
	for _, r := range s {
		return r, true
	}
	return 0, false
}

// wordingSexValues are the keys a wording's sex map must have.
var wordingSexValues = []string{"male", "female", "unknown"}

// parseWording decodes and checks one wording file, named
// .../wording/<language>/v<version>.yaml.
func parseWording(name string, data []byte) (*Wording, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var w Wording
	if err := dec.Decode(&w); err != nil {
		return nil, decodeError(name, err)
	}
	w.File = name
	sum := sha256.Sum256(data)
	w.Digest = hex.EncodeToString(sum[:])

	var errs []error
	fail := func(key string, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s:%d: %s: %s", name, lineOf(&root, key), key, fmt.Sprintf(format, args...)))
	}
	parts := strings.Split(name, "/")
	dir, base := parts[len(parts)-2], parts[len(parts)-1]
	if w.Language != dir {
		fail("language", "is %q but the file is in folder %q", w.Language, dir)
	}
	if m := filePattern.FindStringSubmatch(base); m == nil {
		errs = append(errs, fmt.Errorf("%s: file name must be v<version>.yaml", name))
	} else if n, _ := strconv.Atoi(m[1]); n != w.Version {
		fail("version", "is %d but the file is named %s", w.Version, base)
	}
	if !languagePattern.MatchString(w.Language) {
		fail("language", "must be a BCP 47 language subtag such as cy or en")
	}
	if strings.TrimSpace(w.Name) == "" {
		fail("name", "is required: the language's name in itself")
	}
	if len(w.Months) != 12 || slices.Contains(w.Months, "") {
		fail("months", "must name the 12 months, January first")
	}
	for _, s := range wordingSexValues {
		if strings.TrimSpace(w.Sex[s]) == "" {
			fail("sex", "must give the word for %q", s)
		}
	}
	if len(w.Sex) != len(wordingSexValues) {
		fail("sex", "must give exactly %s", strings.Join(wordingSexValues, ", "))
	}
	if strings.TrimSpace(w.And) == "" {
		fail("and", "is required: the word that joins the last two items of a list")
	}
	if (w.AndBeforeVowel == "") != (w.Vowels == "") {
		fail("and-before-vowel", "and vowels go together")
	}
	for _, key := range slices.Sorted(maps.Keys(w.Text)) {
		if !wordingKey.MatchString(key) {
			errs = append(errs, fmt.Errorf("%s:%d: text.%s: a key is lower-case words joined by hyphens and dots", name, lineOf(&root, "text", key), key))
		}
		if _, err := Placeholders(w.Text[key]); err != nil {
			errs = append(errs, fmt.Errorf("%s:%d: text.%s: %v", name, lineOf(&root, "text", key), key, err))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return &w, nil
}

var (
	languagePattern = regexp.MustCompile(`^[a-z]{2,3}$`)
	wordingKey      = regexp.MustCompile(`^[a-z0-9]+([.-][a-z0-9]+)*$`)
)

// Languages returns the languages of a template's text in the order it
// gives them: ["cy", "en"] for a bilingual template.
func (t *Template) Languages() []string { return strings.Split(t.Language, ",") }

// WordingFor returns the template's wording in language, or nil.
func (t *Template) WordingFor(language string) *Wording {
	for _, w := range t.Words {
		if w.Language == language {
			return w
		}
	}
	return nil
}

// dynamic reports whether a placeholder is filled in when a document is
// laid out, from the request or the page count, rather than at load.
func dynamic(name string) bool {
	return slices.Contains(LetterPlaceholders, name) || slices.Contains(FooterPlaceholders, name)
}

// expandWording replaces every {<language>:<key>} in s with that entry of
// the template's wording. Inside an entry, {issuer} becomes the issuer
// setting's entry in the same language, and the placeholders filled in
// at layout ({date}, {references}, …) become {<language>:<name>}, so they
// are filled in the language of the words around them. Everything else
// ({helpline-phone}, or {date} written in the template itself) is left
// for layout.
func (t *Template) expandWording(s string) (string, error) {
	if !strings.Contains(s, ":") {
		return s, nil
	}
	return replacePlaceholders(s, func(name string) (string, error) {
		lang, key, ok := strings.Cut(name, ":")
		if !ok {
			return "{" + name + "}", nil
		}
		w := t.WordingFor(lang)
		if w == nil {
			return "", fmt.Errorf("{%s} names language %q, which the template's wording (%s) does not have", name, lang, strings.Join(t.Wording, ", "))
		}
		if dynamic(key) {
			return "{" + name + "}", nil
		}
		entry, ok := w.Text[key]
		if !ok {
			return "", fmt.Errorf("{%s}: %s has no entry %q", name, w.File, key)
		}
		return replacePlaceholders(entry, func(inner string) (string, error) {
			switch {
			case inner == "issuer":
				if t.Issuer == "" {
					return "", fmt.Errorf("{%s} names the issuer, but the template sets no issuer", name)
				}
				is, ok := w.Text["issuer."+t.Issuer]
				if !ok {
					return "", fmt.Errorf("issuer %q: %s has no entry %q", t.Issuer, w.File, "issuer."+t.Issuer)
				}
				return is, nil
			case dynamic(inner):
				return "{" + lang + ":" + inner + "}", nil
			case strings.Contains(inner, ":"):
				return "", fmt.Errorf("{%s}: an entry cannot refer to another language's wording ({%s})", name, inner)
			case strings.Contains(inner, "."):
				// Another entry of the same wording, such as
				// {helpline.name}; one level deep.
				other, ok := w.Text[inner]
				if !ok || strings.Contains(other, "{") {
					return "", fmt.Errorf("{%s}: %s has no entry %q without placeholders", name, w.File, inner)
				}
				return other, nil
			}
			return "{" + inner + "}", nil
		})
	})
}

// replacePlaceholders replaces each {name} in s by what fn returns for it.
func replacePlaceholders(s string, fn func(name string) (string, error)) (string, error) {
	var out strings.Builder
	for {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			out.WriteString(s)
			return out.String(), nil
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			return "", errors.New(`"{" without "}"`)
		}
		out.WriteString(s[:i])
		r, err := fn(s[i+1 : i+j])
		if err != nil {
			return "", err
		}
		out.WriteString(r)
		s = s[i+j+1:]
	}
}
