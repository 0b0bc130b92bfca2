package adapters_test

import (
	"strings"
	"testing"

	"github.com/quire-print/quire/pipeline/storage/fsstore"
	"github.com/quire-print/quire/pipeline/supplier"
	"github.com/quire-print/quire/pipeline/supplier/adapters"
	"github.com/quire-print/quire/pipeline/supplier/folder"
)

func TestBuild(t *testing.T) {
	s, err := fsstore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	p, err := adapters.Build(adapters.Config{Supplier: "northprint"}, s, nil, nil)
	if err != nil || p.Adapter() != "pull" || p.Name() != "northprint" {
		t.Errorf("default: %v, %v", p, err)
	}
	f, err := adapters.Build(adapters.Config{Supplier: "northprint", Adapter: "folder", Folder: folder.Config{Dir: t.TempDir()}}, s, nil, nil)
	if err != nil || f.Adapter() != "folder" {
		t.Errorf("folder: %v, %v", f, err)
	}
	tests := []struct {
		c    adapters.Config
		want []string
	}{
		{adapters.Config{Adapter: "email"}, []string{`name "" must be`, `adapter "email" is not one of pull, folder`}},
		{adapters.Config{Supplier: "x", Adapter: "folder"}, []string{"folder: Dir is required"}},
		{adapters.Config{Supplier: "x", Folder: folder.Config{Dir: "/tmp"}}, []string{"folder settings are given but the adapter is pull"}},
		{adapters.Config{Supplier: "x", Retry: supplier.Retry{Min: 2, Max: 1}}, []string{"retry max"}},
	}
	for _, tt := range tests {
		_, err := adapters.Build(tt.c, s, nil, nil)
		for _, w := range tt.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%+v: error %v does not say %q", tt.c, err, w)
			}
		}
	}
}
