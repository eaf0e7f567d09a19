package builtin

import (
	"reflect"
	"testing"
)

func TestRegistryHoldsEveryCatalogActionWithTheSameSchema(t *testing.T) {
	r, err := Registry(Clients{})
	if err != nil {
		t.Fatal(err)
	}
	cat := Catalog()
	if got, want := len(r.Names()), len(cat); got != want {
		t.Fatalf("registry has %d actions %v, catalog %d", got, r.Names(), want)
	}
	for name, schema := range cat {
		got, ok := r.Schema(name)
		if !ok {
			t.Errorf("%s: not registered", name)
			continue
		}
		if got.Description != schema.Description || !reflect.DeepEqual(got.Params, schema.Params) {
			t.Errorf("%s: registry schema differs from catalog schema", name)
		}
		if got.Reversible != r.Reversible(name) {
			t.Errorf("%s: schema says reversible=%v, action implements Undo=%v", name, got.Reversible, r.Reversible(name))
		}
	}
}
