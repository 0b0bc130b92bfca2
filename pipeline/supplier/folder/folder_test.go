package folder_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quire-print/quire/pipeline/storage/fsstore"
	"github.com/quire-print/quire/pipeline/supplier/folder"
	"github.com/quire-print/quire/pipeline/supplier/suppliertest"
)

func TestConformance(t *testing.T) {
	suppliertest.Run(t, func(t *testing.T) suppliertest.Harness {
		s, err := fsstore.New(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		a, err := folder.New(folder.Config{Dir: dir}, s)
		if err != nil {
			t.Fatal(err)
		}
		return suppliertest.Harness{Store: s, Adapter: a, Received: func(t *testing.T, id string) (map[string][]byte, bool) {
			return received(t, dir, id)
		}}
	})
}

// received reads what a supplier polling dir would pick up for batch id:
// nothing from hidden (in-progress) directories.
func received(t *testing.T, dir, id string) (map[string][]byte, bool) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("a hidden directory %s was left behind", e.Name())
		}
	}
	files, err := os.ReadDir(filepath.Join(dir, id))
	if os.IsNotExist(err) {
		return nil, false
	} else if err != nil {
		t.Fatal(err)
	}
	got := map[string][]byte{}
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(dir, id, f.Name()))
		if err != nil {
			t.Fatal(err)
		}
		got[f.Name()] = data
		if fi, _ := f.Info(); fi.Mode().Perm() != folder.DefaultFileMode {
			t.Errorf("%s has mode %v, want %v", f.Name(), fi.Mode().Perm(), folder.DefaultFileMode)
		}
	}
	return got, true
}

func TestConfig(t *testing.T) {
	file := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		c    folder.Config
		want string
	}{
		{folder.Config{}, "Dir is required"},
		{folder.Config{Dir: file}, "must be an existing directory"},
		{folder.Config{Dir: t.TempDir(), FileMode: 0o644}, "lets every user read files holding personal data"},
		{folder.Config{Dir: t.TempDir(), DirMode: os.ModeDir | 0o700}, "permission bits only"},
	}
	for _, tt := range tests {
		if _, err := folder.New(tt.c, nil); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: %v, want %q", tt.c, err, tt.want)
		}
	}
}
