package deploy_test

import (
	"bufio"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/quire-print/quire/internal/clihelp"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	Cmd  string // upper case: FROM, COPY, …
	Args string
	Line int
}

// stage is a build stage: its FROM and what follows.
type stage struct {
	From, Name string
	Ins        []instruction
}

type dockerfile struct{ Stages []stage }

// readDockerfile reads the instructions of a Dockerfile: comments and
// parser directives are skipped, continuation lines joined.
func readDockerfile(path string) (*dockerfile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	df := &dockerfile{}
	sc := bufio.NewScanner(f)
	var pending strings.Builder
	start := 0
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if pending.Len() == 0 && (line == "" || strings.HasPrefix(line, "#")) {
			continue
		}
		if pending.Len() == 0 {
			start = n
		}
		if strings.HasPrefix(line, "#") {
			continue // a comment inside a continued instruction
		}
		if cont, ok := strings.CutSuffix(line, `\`); ok {
			pending.WriteString(cont + " ")
			continue
		}
		pending.WriteString(line)
		cmd, args, _ := strings.Cut(pending.String(), " ")
		pending.Reset()
		in := instruction{Cmd: strings.ToUpper(cmd), Args: strings.TrimSpace(args), Line: start}
		if in.Cmd == "FROM" {
			f := strings.Fields(in.Args)
			st := stage{From: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				st.Name = f[2]
			}
			df.Stages = append(df.Stages, st)
			continue
		}
		if len(df.Stages) == 0 {
			return nil, fmt.Errorf("%s:%d: %s before FROM", path, start, in.Cmd)
		}
		st := &df.Stages[len(df.Stages)-1]
		st.Ins = append(st.Ins, in)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(df.Stages) < 2 {
		return nil, fmt.Errorf("%s: %d stages, want a build stage and the image", path, len(df.Stages))
	}
	return df, nil
}

// build is the stage that runs the image script; final the image.
func (d *dockerfile) build() stage { return d.Stages[len(d.Stages)-2] }
func (d *dockerfile) final() stage { return d.Stages[len(d.Stages)-1] }

// all returns the args of every instruction cmd.
func (s stage) all(cmd string) []instruction {
	var out []instruction
	for _, in := range s.Ins {
		if in.Cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

// env is the stage's ENV, as NAME=value.
func (s stage) env() []string {
	var out []string
	for _, in := range s.all("ENV") {
		for _, kv := range strings.Fields(in.Args) {
			name, value, ok := strings.Cut(kv, "=")
			if !ok {
				continue
			}
			if uq, err := strconv.Unquote(value); err == nil {
				value = uq
			}
			out = append(out, name+"="+value)
		}
	}
	return out
}

// copySpec is one COPY --from=build of the image stage.
type copySpec struct {
	Src, Dst string
	Chown    string // "uid:gid", or "" for root
}

// copies reads the image stage's COPY instructions; each must copy from
// the build stage.
func (s stage) copies(t *testing.T, from string) []copySpec {
	t.Helper()
	var out []copySpec
	for _, in := range s.all("COPY") {
		var c copySpec
		var paths []string
		fromOK := false
		for _, w := range strings.Fields(in.Args) {
			switch {
			case w == "--from="+from:
				fromOK = true
			case strings.HasPrefix(w, "--chown="):
				c.Chown = strings.TrimPrefix(w, "--chown=")
			case strings.HasPrefix(w, "--"):
				t.Errorf("Dockerfile:%d: COPY option %s is not reproduced by the image test", in.Line, w)
			default:
				paths = append(paths, w)
			}
		}
		if !fromOK || len(paths) != 2 {
			t.Fatalf("Dockerfile:%d: the image stage may only COPY --from=%s one path", in.Line, from)
		}
		c.Src, c.Dst = paths[0], paths[1]
		out = append(out, c)
	}
	return out
}

// scriptOut is the output directory the build stage gives the image
// script.
func (s stage) scriptOut(t *testing.T) string {
	t.Helper()
	re := regexp.MustCompile(`^(?:\./)?` + regexp.QuoteMeta(clihelp.ImageScript) + `\s+(\S+)$`)
	for _, in := range s.all("RUN") {
		if m := re.FindStringSubmatch(in.Args); m != nil {
			return m[1]
		}
	}
	t.Fatalf("Dockerfile: the build stage does not RUN ./%s <dir>: the binary must be built by it", clihelp.ImageScript)
	return ""
}

// TestDockerfileShape checks what the image test cannot see by running
// the files: the image stage holds only what the build stage's image
// script made, runs as a non-root user, and the build uses the Go of
// go.mod.
func TestDockerfileShape(t *testing.T) {
	df, err := readDockerfile(filepath.Join(root(t), "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	b, f := df.build(), df.final()
	if f.From != "scratch" {
		t.Errorf("image stage FROM %s, want scratch: nothing but the binary, CA certificates and what it reads", f.From)
	}
	allowed := map[string]bool{"COPY": true, "USER": true, "WORKDIR": true, "ENV": true, "EXPOSE": true,
		"ENTRYPOINT": true, "CMD": true, "LABEL": true, "STOPSIGNAL": true}
	for _, in := range f.Ins {
		if !allowed[in.Cmd] {
			t.Errorf("Dockerfile:%d: %s in the image stage; the image test reproduces only %v", in.Line, in.Cmd,
				slices.Sorted(maps.Keys(allowed)))
		}
	}
	out := b.scriptOut(t)
	for _, c := range f.copies(t, b.Name) {
		if !strings.HasPrefix(c.Src, out+"/") {
			t.Errorf("Dockerfile: COPY %s: the image holds only what %s made under %s", c.Src, clihelp.ImageScript, out)
		}
	}
	if uid, _ := imageUser(t, f); uid == 0 {
		t.Error("Dockerfile: USER is root")
	}
	mod, err := os.ReadFile(filepath.Join(root(t), "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	goVersion := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(mod)
	if goVersion == nil || !strings.HasPrefix(b.From, "golang:"+string(goVersion[1])+"-") {
		t.Errorf("Dockerfile: build stage FROM %s, want golang:<go.mod's go version>-…", b.From)
	}
	if len(b.env()) > 0 {
		t.Logf("build stage ENV %v (passed to the image script by the image test)", b.env())
	}
}

// imageUser is the numeric uid and gid of the image stage's USER.
func imageUser(t *testing.T, f stage) (uid, gid int) {
	t.Helper()
	users := f.all("USER")
	if len(users) != 1 {
		t.Fatalf("Dockerfile: %d USER in the image stage, want 1", len(users))
	}
	u, g, ok := strings.Cut(users[0].Args, ":")
	if !ok {
		g = u
	}
	uid, err1 := strconv.Atoi(u)
	gid, err2 := strconv.Atoi(g)
	if err1 != nil || err2 != nil {
		t.Fatalf("Dockerfile:%d: USER %s: give numeric uid:gid (Kubernetes runAsNonRoot checks it)", users[0].Line, users[0].Args)
	}
	return uid, gid
}
