package deploy_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/quire-print/quire/internal/clihelp"
	"go.yaml.in/yaml/v3"
)

// The parts of Kubernetes objects the test reads.
type (
	k8sObject struct {
		APIVersion string `yaml:"apiVersion"`
		Kind       string `yaml:"kind"`
		Metadata   struct {
			Name   string            `yaml:"name"`
			Labels map[string]string `yaml:"labels"`
		} `yaml:"metadata"`
		Spec yaml.Node `yaml:"spec"`
		file string
	}
	deploymentSpec struct {
		Replicas int `yaml:"replicas"`
		Selector struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		} `yaml:"selector"`
		Template struct {
			Metadata struct {
				Labels map[string]string `yaml:"labels"`
			} `yaml:"metadata"`
			Spec struct {
				SecurityContext struct {
					RunAsNonRoot *bool `yaml:"runAsNonRoot"`
					RunAsUser    *int  `yaml:"runAsUser"`
				} `yaml:"securityContext"`
				Containers []container `yaml:"containers"`
				Volumes    []volume    `yaml:"volumes"`
			} `yaml:"spec"`
		} `yaml:"template"`
	}
	container struct {
		Name    string   `yaml:"name"`
		Command []string `yaml:"command"`
		Args    []string `yaml:"args"`
		Env     []struct {
			Name      string  `yaml:"name"`
			Value     *string `yaml:"value"`
			ValueFrom *struct {
				SecretKeyRef *struct {
					Name string `yaml:"name"`
					Key  string `yaml:"key"`
				} `yaml:"secretKeyRef"`
			} `yaml:"valueFrom"`
		} `yaml:"env"`
		Ports []struct {
			Name          string `yaml:"name"`
			ContainerPort int    `yaml:"containerPort"`
		} `yaml:"ports"`
		StartupProbe   *probe `yaml:"startupProbe"`
		LivenessProbe  *probe `yaml:"livenessProbe"`
		ReadinessProbe *probe `yaml:"readinessProbe"`
		Resources      struct {
			Requests map[string]string `yaml:"requests"`
			Limits   map[string]string `yaml:"limits"`
		} `yaml:"resources"`
		SecurityContext struct {
			AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
			ReadOnlyRootFilesystem   *bool `yaml:"readOnlyRootFilesystem"`
			RunAsNonRoot             *bool `yaml:"runAsNonRoot"`
			Capabilities             struct {
				Drop []string `yaml:"drop"`
			} `yaml:"capabilities"`
		} `yaml:"securityContext"`
		VolumeMounts []struct {
			Name      string `yaml:"name"`
			MountPath string `yaml:"mountPath"`
			ReadOnly  bool   `yaml:"readOnly"`
		} `yaml:"volumeMounts"`
	}
	// volume reads the sources of files the test knows: a Secret, a
	// ConfigMap, or a projection of them, each with its items named.
	volume struct {
		Name      string        `yaml:"name"`
		Secret    *secretSource `yaml:"secret"`
		ConfigMap *objectSource `yaml:"configMap"`
		Projected *struct {
			Sources []struct {
				Secret    *objectSource `yaml:"secret"`
				ConfigMap *objectSource `yaml:"configMap"`
			} `yaml:"sources"`
		} `yaml:"projected"`
	}
	secretSource struct {
		SecretName string    `yaml:"secretName"`
		Items      []keyPath `yaml:"items"`
	}
	objectSource struct {
		Name  string    `yaml:"name"`
		Items []keyPath `yaml:"items"`
	}
	keyPath struct {
		Key  string `yaml:"key"`
		Path string `yaml:"path"`
	}
	probe struct {
		HTTPGet *struct {
			Path string    `yaml:"path"`
			Port yaml.Node `yaml:"port"`
		} `yaml:"httpGet"`
	}
	serviceSpec struct {
		Selector map[string]string `yaml:"selector"`
		Ports    []struct {
			Name       string    `yaml:"name"`
			Port       int       `yaml:"port"`
			TargetPort yaml.Node `yaml:"targetPort"`
		} `yaml:"ports"`
	}
	pdbSpec struct {
		MinAvailable   *int `yaml:"minAvailable"`
		MaxUnavailable *int `yaml:"maxUnavailable"`
		Selector       struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		} `yaml:"selector"`
	}
)

// readManifests reads every object of every YAML file in dir but the
// kustomization, and checks the kustomization lists every file.
func readManifests(t *testing.T, dir string) []k8sObject {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var objs []k8sObject
	var listed []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if filepath.Base(f) == "kustomization.yaml" {
			var k struct {
				Resources []string `yaml:"resources"`
			}
			if err := yaml.Unmarshal(data, &k); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			listed = k.Resources
			continue
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		for {
			var o k8sObject
			err := dec.Decode(&o)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			o.file = filepath.Base(f)
			objs = append(objs, o)
		}
	}
	for _, f := range files {
		if b := filepath.Base(f); b != "kustomization.yaml" && !slices.Contains(listed, b) {
			t.Errorf("kustomization.yaml does not list %s", b)
		}
	}
	return objs
}

func decodeSpec(t *testing.T, o k8sObject, into any) {
	t.Helper()
	if err := o.Spec.Decode(into); err != nil {
		t.Fatalf("%s: %s %s: %v", o.file, o.Kind, o.Metadata.Name, err)
	}
}

// TestKubernetesAgainstBinary checks deploy/kubernetes: every variable
// and flag quire serve reads, every secret from a Secret and every file a
// variable names mounted, every container port a listener's, every probe
// on a path its listener answers, one Service per listener, and the pod
// locked down (non-root, read-only root filesystem, limits, a
// PodDisruptionBudget that lets a node drain).
func TestKubernetesAgainstBinary(t *testing.T) {
	objs := readManifests(t, filepath.Join(root(t), "deploy", "kubernetes"))
	help := serveFlags(t)

	var dep deploymentSpec
	var services []serviceSpec
	var pdbs []pdbSpec
	for _, o := range objs {
		switch o.Kind {
		case "Deployment":
			decodeSpec(t, o, &dep)
		case "Service":
			var s serviceSpec
			decodeSpec(t, o, &s)
			services = append(services, s)
		case "PodDisruptionBudget":
			var p pdbSpec
			decodeSpec(t, o, &p)
			pdbs = append(pdbs, p)
		default:
			t.Errorf("%s: a %s; the test knows Deployment, Service and PodDisruptionBudget", o.file, o.Kind)
		}
	}
	pod := dep.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("Deployment: %d containers, want 1", len(pod.Containers))
	}
	c := pod.Containers[0]
	podLabels := dep.Template.Metadata.Labels
	if !subset(dep.Selector.MatchLabels, podLabels) {
		t.Error("Deployment: selector does not match the pod's labels")
	}

	// Command line and environment.
	if len(c.Command) > 0 {
		t.Errorf("container command %q: leave the image's ENTRYPOINT", c.Command)
	}
	if len(c.Args) == 0 || c.Args[0] != "serve" {
		t.Fatalf("container args %q, want serve [flags]", c.Args)
	}
	checkArgs(t, "Deployment args", c.Args[1:])
	env := map[string]string{}
	for _, e := range c.Env {
		if strings.HasPrefix(e.Name, "QUIRE_") {
			if _, ok := help.ByEnv(e.Name); !ok {
				t.Errorf("Deployment: quire serve reads no %s", e.Name)
			}
		}
		if e.Value != nil {
			env[e.Name] = *e.Value
		} else if e.ValueFrom == nil {
			t.Errorf("Deployment: %s has neither value nor valueFrom", e.Name)
		}
	}
	for _, e := range c.Env {
		if l, ok := help.ByEnv(e.Name); ok && l.IsListener() && e.ValueFrom != nil {
			t.Errorf("Deployment: %s from valueFrom: give the listener's address as a value", e.Name)
		}
	}

	checkSecrets(t, c, pod.Volumes, help)

	// Ports: each a listener's; each listener set to a non-loopback
	// address has one.
	routes := routesFor(t, env)
	portByName := map[string]int{}
	isPort := map[int]bool{}
	for _, p := range c.Ports {
		portByName[p.Name] = p.ContainerPort
		isPort[p.ContainerPort] = true
		if !isListener(routes, strconv.Itoa(p.ContainerPort)) {
			t.Errorf("container port %s (%d) is no listener's port", p.Name, p.ContainerPort)
		}
	}
	for _, l := range help.Listeners() {
		addr, ok := env[l.Env]
		if !ok || addr == "" || strings.HasPrefix(addr, "127.") || strings.HasPrefix(addr, "localhost:") {
			continue
		}
		if port, err := strconv.Atoi(portOf(t, addr)); err != nil || !isPort[port] {
			t.Errorf("%s=%s: no container port for it", l.Env, addr)
		}
	}
	resolve := func(n yaml.Node) (int, bool) {
		if p, err := strconv.Atoi(n.Value); err == nil {
			return p, isPort[p]
		}
		p, ok := portByName[n.Value]
		return p, ok
	}

	// Probes: liveness and startup on /healthz (the process serves HTTP),
	// readiness on /readyz (it can work), each answered 200 by the
	// listener on its port.
	for _, pr := range []struct {
		name, path string
		p          *probe
	}{{"startupProbe", "/healthz", c.StartupProbe}, {"livenessProbe", "/healthz", c.LivenessProbe}, {"readinessProbe", "/readyz", c.ReadinessProbe}} {
		if pr.p == nil || pr.p.HTTPGet == nil {
			if pr.name != "startupProbe" {
				t.Errorf("no %s with httpGet", pr.name)
			}
			continue
		}
		if pr.p.HTTPGet.Path != pr.path {
			t.Errorf("%s on %s, want %s", pr.name, pr.p.HTTPGet.Path, pr.path)
		}
		port, ok := resolve(pr.p.HTTPGet.Port)
		if !ok {
			t.Errorf("%s: port %q is not a container port", pr.name, pr.p.HTTPGet.Port.Value)
			continue
		}
		if got := routes[strconv.Itoa(port)][pr.p.HTTPGet.Path]; got != 200 {
			t.Errorf("%s: GET %s on port %d answers %d, want 200", pr.name, pr.p.HTTPGet.Path, port, got)
		}
		// A pod's readiness gates every Service: it is the parents'
		// listener's, which needs neither S3 nor RabbitMQ, so an outage
		// of either leaves the preview page up.
		if pr.name == "readinessProbe" && routes[strconv.Itoa(port)]["/preview"] != 200 {
			t.Errorf("readinessProbe on port %d, which does not serve /preview: use the public listener's /readyz", port)
		}
	}

	// Resources and lockdown.
	for _, r := range []string{"cpu", "memory"} {
		if c.Resources.Requests[r] == "" || c.Resources.Limits[r] == "" {
			t.Errorf("container: no %s request or limit", r)
		}
	}
	if v, ok := env["GOMEMLIMIT"]; ok {
		soft, err1 := parseBytes(v)
		hard, err2 := parseBytes(c.Resources.Limits["memory"])
		if err1 != nil || err2 != nil || soft >= hard {
			t.Errorf("GOMEMLIMIT %s must be under the memory limit %s", v, c.Resources.Limits["memory"])
		}
	}
	sc := c.SecurityContext
	if !isTrue(sc.ReadOnlyRootFilesystem) || !isTrue(sc.RunAsNonRoot) || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		!slices.Contains(sc.Capabilities.Drop, "ALL") {
		t.Errorf("container securityContext %+v: want readOnlyRootFilesystem, runAsNonRoot, no privilege escalation, drop ALL", sc)
	}
	df, err := readDockerfile(filepath.Join(root(t), "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := imageUser(t, df.final())
	if psc := pod.SecurityContext; !isTrue(psc.RunAsNonRoot) || psc.RunAsUser == nil || *psc.RunAsUser != uid {
		t.Errorf("pod securityContext: want runAsNonRoot and runAsUser %d (the image's USER)", uid)
	}
	tmp := false
	for _, m := range c.VolumeMounts {
		tmp = tmp || m.MountPath == "/tmp"
	}
	if !tmp {
		t.Error("no volume on /tmp: the root filesystem is read-only")
	}

	// One Service per listener in use, each on a container port.
	served := map[int]int{}
	for i, s := range services {
		if !subset(s.Selector, podLabels) || len(s.Selector) == 0 {
			t.Errorf("Service %d: selector %v does not pick quire's pods", i, s.Selector)
		}
		for _, p := range s.Ports {
			port, ok := resolve(p.TargetPort)
			if !ok {
				t.Errorf("Service %d: targetPort %q is not a container port", i, p.TargetPort.Value)
				continue
			}
			served[port]++
		}
	}
	for port := range isPort {
		if served[port] != 1 {
			t.Errorf("listener port %d: %d Services, want one", port, served[port])
		}
	}
	if len(services) != len(isPort) {
		t.Errorf("%d Services for %d listener ports", len(services), len(isPort))
	}

	// A budget that keeps one running and still lets a node drain.
	if len(pdbs) != 1 {
		t.Fatalf("%d PodDisruptionBudgets, want 1", len(pdbs))
	}
	p := pdbs[0]
	if !subset(p.Selector.MatchLabels, podLabels) {
		t.Error("PodDisruptionBudget: selector does not match the pod's labels")
	}
	if p.MinAvailable == nil || *p.MinAvailable < 1 || *p.MinAvailable >= dep.Replicas {
		t.Errorf("PodDisruptionBudget minAvailable %v with %d replicas: want at least 1 and fewer than the replicas", p.MinAvailable, dep.Replicas)
	}
}

func portOf(t *testing.T, addr string) string {
	t.Helper()
	i := strings.LastIndex(addr, ":")
	if i < 0 {
		t.Fatalf("address %q has no port", addr)
	}
	return addr[i+1:]
}

// parseBytes reads a size as GOMEMLIMIT (B, KiB, MiB, GiB) or a
// Kubernetes quantity (Ki, Mi, Gi) writes it.
func parseBytes(s string) (int64, error) {
	units := []struct {
		suffix string
		n      int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"Gi", 1 << 30}, {"Mi", 1 << 20}, {"Ki", 1 << 10}, {"B", 1}}
	for _, u := range units {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			n, err := strconv.ParseInt(num, 10, 64)
			return n * u.n, err
		}
	}
	return strconv.ParseInt(s, 10, 64)
}

func subset(a, b map[string]string) bool {
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func isTrue(b *bool) bool { return b != nil && *b }

// secretSettings are the settings of quire serve that are secrets, by
// variable: each must come from a Secret, as a variable (false) or as a
// file the variable names (true), never be written in the manifest.
var secretSettings = map[string]bool{
	"QUIRE_AMQP_URL":           false,
	"QUIRE_S3_ACCESS_KEY":      false,
	"QUIRE_S3_SECRET_KEY":      false,
	"QUIRE_SUPPLIER_TOKENS":    false,
	"QUIRE_STATUS_TOKENS_FILE": true,
	"QUIRE_REFERENCE_KEY_FILE": true,
}

// fileSource is where a file in a volume comes from: "Secret/<name>" or
// "ConfigMap/<name>", with the key.
type fileSource struct{ kind, name, key string }

// volumeFiles lists the files each volume provides, by path inside it.
// A source without items (every key a file) is listed under "*".
func volumeFiles(vols []volume) map[string]map[string]fileSource {
	files := map[string]map[string]fileSource{}
	add := func(vol, kind, name string, items []keyPath) {
		if files[vol] == nil {
			files[vol] = map[string]fileSource{}
		}
		if len(items) == 0 {
			files[vol]["*"] = fileSource{kind, name, "*"}
		}
		for _, it := range items {
			files[vol][it.Path] = fileSource{kind, name, it.Key}
		}
	}
	for _, v := range vols {
		switch {
		case v.Secret != nil:
			add(v.Name, "Secret", v.Secret.SecretName, v.Secret.Items)
		case v.ConfigMap != nil:
			add(v.Name, "ConfigMap", v.ConfigMap.Name, v.ConfigMap.Items)
		case v.Projected != nil:
			for _, src := range v.Projected.Sources {
				if src.Secret != nil {
					add(v.Name, "Secret", src.Secret.Name, src.Secret.Items)
				}
				if src.ConfigMap != nil {
					add(v.Name, "ConfigMap", src.ConfigMap.Name, src.ConfigMap.Items)
				}
			}
		}
	}
	return files
}

// checkSecrets checks that every file a variable names (a flag whose
// value is a `file`) is one a read-only mount provides, and that every
// secret setting is set, from a Secret.
func checkSecrets(t *testing.T, c container, vols []volume, help clihelp.Command) {
	t.Helper()
	files := volumeFiles(vols)
	// fileAt finds the volume file at an absolute path in the container.
	fileAt := func(path string) (fileSource, bool, bool) {
		for _, m := range c.VolumeMounts {
			rel, ok := strings.CutPrefix(path, strings.TrimSuffix(m.MountPath, "/")+"/")
			if !ok {
				continue
			}
			if f, ok := files[m.Name][rel]; ok {
				return f, m.ReadOnly, true
			}
			if f, ok := files[m.Name]["*"]; ok && !strings.Contains(rel, "/") {
				return fileSource{f.kind, f.name, rel}, m.ReadOnly, true
			}
		}
		return fileSource{}, false, false
	}
	set := map[string]bool{}
	for _, e := range c.Env {
		set[e.Name] = true
		isFile, secret := secretSettings[e.Name]
		if f, ok := help.ByEnv(e.Name); ok && f.Arg == "file" && e.Value != nil {
			src, readOnly, found := fileAt(*e.Value)
			switch {
			case !found:
				t.Errorf("Deployment: %s=%s: no volume mounted provides that file", e.Name, *e.Value)
			case !readOnly:
				t.Errorf("Deployment: %s=%s: mount it read-only", e.Name, *e.Value)
			case secret && src.kind != "Secret":
				t.Errorf("Deployment: %s=%s comes from a %s: a secret goes in a Secret", e.Name, *e.Value, src.kind)
			}
			continue
		}
		if !secret {
			continue
		}
		if isFile {
			t.Errorf("Deployment: %s must name a file mounted from a Secret", e.Name)
			continue
		}
		if e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil || e.ValueFrom.SecretKeyRef.Name == "" || e.ValueFrom.SecretKeyRef.Key == "" {
			t.Errorf("Deployment: %s must come from a Secret (valueFrom.secretKeyRef), not be written here", e.Name)
		}
	}
	for name := range secretSettings {
		if !set[name] {
			t.Errorf("Deployment: %s is not set (from a Secret)", name)
		}
	}
}
