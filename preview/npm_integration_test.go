//go:build integration

package preview

import (
	"os"
	"path/filepath"
	"testing"
)

// npmFile reads a file from an npm package that scripts/test-services.sh
// installs (into $QUIRE_TEST_NODE_MODULES, by default the cache under the
// home directory). A missing file fails the test, saying what to install.
func npmFile(t *testing.T, pkg, path string) []byte {
	t.Helper()
	dir := os.Getenv("QUIRE_TEST_NODE_MODULES")
	if dir == "" {
		home, _ := os.UserHomeDir()
		dir = filepath.Join(home, ".cache", "quire", "e2e-node", "node_modules")
	}
	data, err := os.ReadFile(filepath.Join(dir, pkg, path))
	if err != nil {
		t.Fatalf("the npm package %s is not installed (%v): run scripts/test-services.sh, "+
			"or set QUIRE_TEST_NODE_MODULES to a node_modules holding it", pkg, err)
	}
	return data
}
