package templates

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
)

//go:embed */*.yaml wording/*/*.yaml
var embedded embed.FS

// Set is a validated collection of templates, every version of each, and
// the wording they use. It is safe for concurrent use.
type Set struct {
	byID    map[string][]*Template // sorted by version
	wording map[string]*Wording    // by Ref, "cy@1"
}

var defaultSet = sync.OnceValues(func() (*Set, error) { return LoadFS(embedded) })

// Default returns the templates embedded in the binary, loaded and
// validated once per process.
func Default() (*Set, error) { return defaultSet() }

var (
	idPattern   = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
	filePattern = regexp.MustCompile(`^v([1-9][0-9]*)\.yaml$`)
)

// LoadFS loads and validates every wording file wording/<language>/v<n>.yaml
// and every template file <id>/v<n>.yaml in fsys. Every problem in every
// file is reported, each with its file and line.
func LoadFS(fsys fs.FS) (*Set, error) {
	s := &Set{byID: map[string][]*Template{}, wording: map[string]*Wording{}}
	var errs []error
	wpaths, err := fs.Glob(fsys, "wording/*/*.yaml")
	if err != nil {
		return nil, err
	}
	for _, p := range wpaths {
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		w, err := parseWording(path.Join("templates", p), data)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		s.wording[w.Ref()] = w
	}
	paths, err := fs.Glob(fsys, "*/*.yaml")
	if err != nil {
		return nil, err
	}
	slices.Sort(paths)
	for _, p := range paths {
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		t, err := parse(path.Join("templates", p), data, s.wording)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		s.byID[t.ID] = append(s.byID[t.ID], t)
	}
	for id, ts := range s.byID {
		slices.SortFunc(ts, func(a, b *Template) int { return a.Version - b.Version })
		for i := 1; i < len(ts); i++ {
			if ts[i].Version == ts[i-1].Version {
				errs = append(errs, fmt.Errorf("%s: version %d of %q is defined twice", ts[i].File, ts[i].Version, id))
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return s, nil
}

// Get returns version of template id; version 0 means the latest.
func (s *Set) Get(id string, version int) (*Template, error) {
	ts := s.byID[id]
	if len(ts) == 0 {
		return nil, fmt.Errorf("no template %q", id)
	}
	if version == 0 {
		return ts[len(ts)-1], nil
	}
	for _, t := range ts {
		if t.Version == version {
			return t, nil
		}
	}
	return nil, fmt.Errorf("template %q has no version %d", id, version)
}

// Resolve returns the template a request names: "id" for the latest
// version, or "id@version".
func (s *Set) Resolve(ref string) (*Template, error) {
	id, v, found := strings.Cut(ref, "@")
	version := 0
	if found {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("template version must be a whole number from 1")
		}
		version = n
	}
	return s.Get(id, version)
}

// Wording returns a wording by its ref, "cy@1".
func (s *Set) Wording(ref string) (*Wording, error) {
	w, ok := s.wording[ref]
	if !ok {
		return nil, fmt.Errorf("no wording %q", ref)
	}
	return w, nil
}

// AllWording returns every version of every wording, ordered by ref.
func (s *Set) AllWording() []*Wording {
	out := make([]*Wording, 0, len(s.wording))
	for _, ref := range slices.Sorted(maps.Keys(s.wording)) {
		out = append(out, s.wording[ref])
	}
	return out
}

// Latest returns the latest version of every template, ordered by id.
func (s *Set) Latest() []*Template {
	ids := make([]string, 0, len(s.byID))
	for id := range s.byID {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	out := make([]*Template, len(ids))
	for i, id := range ids {
		ts := s.byID[id]
		out[i] = ts[len(ts)-1]
	}
	return out
}

// All returns every version of every template, ordered by id then version.
func (s *Set) All() []*Template {
	var out []*Template
	for _, t := range s.Latest() {
		out = append(out, s.byID[t.ID]...)
	}
	return out
}

// Parse decodes and validates one template file that uses no wording
// files. name is the file's path as it should appear in errors, ending in
// <id>/v<version>.yaml.
func Parse(name string, data []byte) (*Template, error) { return parse(name, data, nil) }

// parse decodes and validates one template file, resolving the wording it
// names in wording.
func parse(name string, data []byte, wording map[string]*Wording) (*Template, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true) // a misspelt key is an error, not a silent default
	var t Template
	if err := dec.Decode(&t); err != nil {
		return nil, decodeError(name, err)
	}
	t.File = name
	sum := sha256.Sum256(data)
	t.Digest = hex.EncodeToString(sum[:])
	t.applyDefaults()
	v := &validator{t: &t, root: &root}
	v.file(path.Base(path.Dir(name)), path.Base(name))
	v.wording(wording)
	v.validate()
	if len(v.errs) > 0 {
		return nil, errors.Join(v.errs...)
	}
	return &t, nil
}

// applyDefaults fills in the documented defaults, so the layout engine
// never has to know them.
func (t *Template) applyDefaults() {
	if t.Language == "" {
		t.Language = "en"
	}
	for i := range t.Items {
		b := t.Items[i].Box
		if b == nil {
			continue
		}
		if b.LabelStyle == "" {
			b.LabelStyle = "label"
		}
		if b.ValueStyle == "" {
			b.ValueStyle = "value"
		}
		if b.MaxLines == 0 {
			b.MaxLines = 1
		}
		if b.Padding == 0 {
			b.Padding = 3
		}
		if b.Stroke == 0 {
			b.Stroke = 0.6
		}
		if b.Color == "" {
			b.Color = "#768692"
		}
	}
	for _, styles := range t.Formats {
		for name, s := range styles {
			if s.Leading == 0 {
				s.Leading = 1.25
				styles[name] = s
			}
		}
	}
}

// decodeError rewrites YAML's "line N: problem" messages as "file:N: problem".
func decodeError(name string, err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return fmt.Errorf("%s: %s", name, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	errs := make([]error, len(te.Errors))
	for i, msg := range te.Errors {
		if m := yamlLine.FindStringSubmatch(msg); m != nil {
			errs[i] = fmt.Errorf("%s:%s: %s", name, m[1], m[2])
		} else {
			errs[i] = fmt.Errorf("%s: %s", name, msg)
		}
	}
	return errors.Join(errs...)
}

var yamlLine = regexp.MustCompile(`^line (\d+): (.*)$`)

// Placeholders returns the {names} used in text, in order.
func Placeholders(text string) ([]string, error) {
	var names []string
	for {
		i := strings.IndexAny(text, "{}")
		if i < 0 {
			return names, nil
		}
		if text[i] == '}' {
			return nil, errors.New(`"}" without "{"`)
		}
		j := strings.IndexAny(text[i+1:], "{}")
		if j < 0 || text[i+1+j] == '{' {
			return nil, errors.New(`"{" without "}"`)
		}
		names = append(names, text[i+1:i+1+j])
		text = text[i+2+j:]
	}
}

// lineOf returns the line of the YAML node at path (keys and indexes),
// or of the deepest node that exists on the way.
func lineOf(root *yaml.Node, path ...any) int {
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	for _, p := range path {
		switch p := p.(type) {
		case string:
			if n.Kind != yaml.MappingNode {
				return n.Line
			}
			found := false
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == p {
					n, found = n.Content[i+1], true
					break
				}
			}
			if !found {
				return n.Line
			}
		case int:
			if n.Kind != yaml.SequenceNode || p >= len(n.Content) {
				return n.Line
			}
			n = n.Content[p]
		}
	}
	return n.Line
}
