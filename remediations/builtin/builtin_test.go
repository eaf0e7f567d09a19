package builtin

import (
	"reflect"
	"testing"

	"github.com/medicbot/medic/remediations"
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

// TestWideningParamsAreComparable: policy review compares a Widens
// parameter's values (remediations.Param.Widens), which only numbers,
// durations and booleans allow.
func TestWideningParamsAreComparable(t *testing.T) {
	n := 0
	for name, schema := range Catalog() {
		for _, p := range schema.Params {
			if p.WidensDown {
				if p.Widens {
					t.Errorf("%s param %s: both Widens and WidensDown", name, p.Name)
				}
				if p.Type != remediations.TypeInt && p.Type != remediations.TypeNumber && p.Type != remediations.TypeDuration {
					t.Errorf("%s param %s: WidensDown on a %s, which has no order", name, p.Name, p.Type)
				}
			}
			if !p.Widens {
				continue
			}
			n++
			switch p.Type {
			case remediations.TypeInt, remediations.TypeNumber, remediations.TypeDuration, remediations.TypeBool:
			default:
				t.Errorf("%s param %s: Widens on a %s, which has no order", name, p.Name, p.Type)
			}
		}
	}
	if n == 0 {
		t.Error("no built-in parameter is marked Widens")
	}
}
