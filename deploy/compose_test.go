package deploy_test

import (
	"bufio"
	"context"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"

	"github.com/quire-print/quire/internal/bearer"
	"github.com/quire-print/quire/internal/clihelp"
	"github.com/quire-print/quire/pipeline/storage/refindex"
	"github.com/quire-print/quire/request"
)

// loadCompose loads compose.yaml with the compose-spec loader, as docker
// compose does, without the caller's environment or .env file.
func loadCompose(t *testing.T) *types.Project {
	t.Helper()
	path := filepath.Join(root(t), "compose.yaml")
	opts, err := cli.NewProjectOptions([]string{path}, cli.WithWorkingDirectory(root(t)), cli.WithDiscardEnvFile)
	if err != nil {
		t.Fatal(err)
	}
	p, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	return p
}

// TestComposeAgainstBinary checks compose.yaml against quire serve: the
// variables and flags it sets exist, the published ports are listeners'
// ports on 127.0.0.1 and one of them serves the preview page, the
// broker and store it names are services of the file, and the bucket it
// uses is the one the one-shot makes.
func TestComposeAgainstBinary(t *testing.T) {
	p := loadCompose(t)
	q, err := p.GetService("quire")
	if err != nil {
		t.Fatal(err)
	}
	if q.Build == nil || filepath.Clean(q.Build.Context) != root(t) {
		t.Errorf("quire: build context %v, want the repository (its Dockerfile)", q.Build)
	}
	if !q.ReadOnly {
		t.Error("quire: read_only is off; the image writes nothing outside /tmp and its data directory")
	}
	help := serveFlags(t)
	env := map[string]string{}
	for name, v := range q.Environment {
		if v == nil {
			t.Errorf("quire: %s has no value", name)
			continue
		}
		env[name] = *v
		if strings.HasPrefix(name, "QUIRE_") {
			if _, ok := help.ByEnv(name); !ok {
				t.Errorf("compose.yaml: quire serve reads no %s", name)
			}
		}
	}
	checkComposeFiles(t, p, q, help, env)
	if len(q.Command) > 0 {
		if q.Command[0] != "serve" {
			t.Errorf("quire: command %q, want serve [flags]", q.Command)
		}
		checkArgs(t, "compose.yaml quire command", q.Command[1:])
	}

	// The preview page is published on localhost, on a listener's port.
	if len(q.Ports) == 0 {
		t.Fatal("quire publishes no port: the preview page must be reachable on localhost")
	}
	routes := routesFor(t, env)
	preview := false
	for _, port := range q.Ports {
		p := strconv.Itoa(int(port.Target))
		if port.HostIP != "127.0.0.1" {
			t.Errorf("quire: port %s published on %q, want 127.0.0.1 only", p, port.HostIP)
		}
		if !isListener(routes, p) {
			t.Errorf("quire: port %s is no listener's port", p)
			continue
		}
		if routes[p]["/preview"] == 200 {
			preview = true
		}
	}
	if !preview {
		t.Errorf("no published port serves /preview (answers by port: %v)", routes)
	}

	// The broker and the store are the file's services, the bucket the
	// one the one-shot makes.
	amqp, err := url.Parse(env["QUIRE_AMQP_URL"])
	if err != nil || amqp.Scheme != "amqp" {
		t.Fatalf("QUIRE_AMQP_URL %q: want amqp://user:pass@rabbitmq:5672/", env["QUIRE_AMQP_URL"])
	}
	rabbit, err := p.GetService(amqp.Hostname())
	if err != nil {
		t.Errorf("QUIRE_AMQP_URL names host %q, not a service: %v", amqp.Hostname(), err)
	} else {
		pass, _ := amqp.User.Password()
		if u := rabbit.Environment["RABBITMQ_DEFAULT_USER"]; u == nil || *u != amqp.User.Username() {
			t.Errorf("QUIRE_AMQP_URL's user is not RABBITMQ_DEFAULT_USER")
		}
		if pw := rabbit.Environment["RABBITMQ_DEFAULT_PASS"]; pw == nil || *pw != pass {
			t.Errorf("QUIRE_AMQP_URL's password is not RABBITMQ_DEFAULT_PASS")
		}
		checkMaxMessageSize(t, p, rabbit)
	}
	s3host, s3port, _ := strings.Cut(env["QUIRE_S3_ENDPOINT"], ":")
	minio, err := p.GetService(s3host)
	if err != nil {
		t.Errorf("QUIRE_S3_ENDPOINT names host %q, not a service: %v", s3host, err)
	} else if !strings.Contains(strings.Join(minio.Command, " "), "--address :"+s3port) {
		t.Errorf("%s does not listen on port %s: command %q", s3host, s3port, minio.Command)
	}
	for _, k := range []string{"QUIRE_S3_ACCESS_KEY", "QUIRE_S3_SECRET_KEY"} {
		want := map[string]string{"QUIRE_S3_ACCESS_KEY": "MINIO_ROOT_USER", "QUIRE_S3_SECRET_KEY": "MINIO_ROOT_PASSWORD"}[k]
		if v := minio.Environment[want]; v == nil || *v != env[k] {
			t.Errorf("%s is not %s's %s", k, s3host, want)
		}
	}
	bucket := env["QUIRE_S3_BUCKET"]
	made := false
	for name, dep := range q.DependsOn {
		svc, err := p.GetService(name)
		if err != nil {
			t.Fatal(err)
		}
		if dep.Condition == types.ServiceConditionCompletedSuccessfully &&
			strings.Contains(strings.Join(svc.Command, " "), "mc mb --ignore-existing local/"+bucket) {
			made = true
		}
	}
	if bucket == "" || !made {
		t.Errorf("quire does not wait for a one-shot that makes its bucket %q", bucket)
	}
}

// checkComposeFiles checks the files quire's variables name: each is one
// of the service's configs, and quire serve accepts it. The status tokens
// accept the sample token the file's comments give, and the reference key,
// written in the file for all to read, says it is for local use only.
func checkComposeFiles(t *testing.T, p *types.Project, q types.ServiceConfig, help clihelp.Command, env map[string]string) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(root(t), "compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	tokens := regexp.MustCompile(`Bearer (qi_[A-Za-z0-9_-]+)`).FindAllStringSubmatch(string(raw), -1)
	for name, path := range env {
		if f, ok := help.ByEnv(name); !ok || f.Arg != "file" {
			continue
		}
		var content []byte
		found := false
		for _, c := range q.Configs {
			if c.Target != path {
				continue
			}
			conf, ok := p.Configs[c.Source]
			if !ok {
				t.Fatalf("quire: config %q is not defined", c.Source)
			}
			found = true
			if conf.File != "" {
				if content, err = os.ReadFile(conf.File); err != nil {
					t.Fatal(err)
				}
			} else {
				content = []byte(conf.Content)
			}
		}
		if !found {
			t.Errorf("quire: %s=%s is none of the service's configs", name, path)
			continue
		}
		file := filepath.Join(t.TempDir(), "file")
		if err := os.WriteFile(file, content, 0o600); err != nil {
			t.Fatal(err)
		}
		switch name {
		case "QUIRE_STATUS_TOKENS_FILE":
			if _, err := bearer.ReadFile(file); err != nil {
				t.Errorf("quire: %s: %v", name, err)
			}
			if len(tokens) == 0 {
				t.Errorf("compose.yaml's comments give no sample token (Bearer qi_…) for %s", name)
			}
			for _, tok := range tokens {
				if !strings.Contains(string(content), ":"+bearer.Hash(tok[1])) {
					t.Errorf("quire: %s does not accept the sample token %s", name, tok[1])
				}
			}
		case "QUIRE_REFERENCE_KEY_FILE":
			if _, err := refindex.ReadKeyFile(file); err != nil {
				t.Errorf("quire: %s: %v", name, err)
			}
			if !strings.Contains(string(content), "local-only") {
				t.Errorf("quire: %s: a key written in compose.yaml must say it is local-only, not look like a real one", name)
			}
		}
	}
}

// checkMaxMessageSize checks that the broker is given Quire's
// max_message_size: above the largest request Quire accepts, below
// RabbitMQ's default of 16 MiB.
func checkMaxMessageSize(t *testing.T, p *types.Project, rabbit types.ServiceConfig) {
	t.Helper()
	for _, c := range rabbit.Configs {
		conf, ok := p.Configs[c.Source]
		if !ok || !strings.HasPrefix(c.Target, "/etc/rabbitmq/conf.d/") {
			continue
		}
		f, err := os.Open(conf.File)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			k, v, ok := strings.Cut(sc.Text(), "=")
			if !ok || strings.TrimSpace(k) != "max_message_size" {
				continue
			}
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				t.Fatalf("%s: max_message_size %q", conf.File, v)
			}
			if n < request.MaxRequestSize || n >= 16<<20 {
				t.Errorf("%s: max_message_size %d, want at least a request's %d and under the default 16 MiB", conf.File, n, request.MaxRequestSize)
			}
			return
		}
	}
	t.Error("the broker is given no max_message_size (a config in /etc/rabbitmq/conf.d/)")
}
