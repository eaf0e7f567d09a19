package boltstore_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/medicbot/medic/internal/store"
	"github.com/medicbot/medic/internal/store/boltstore"
	"github.com/medicbot/medic/internal/store/storetest"
)

func TestConformanceBatched(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := boltstore.Open(filepath.Join(t.TempDir(), "medic.db"), boltstore.Options{BatchDelay: time.Millisecond})
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	})
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := boltstore.Open(filepath.Join(t.TempDir(), "medic.db"), boltstore.Options{})
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	})
}
