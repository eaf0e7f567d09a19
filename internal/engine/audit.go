package engine

import (
	"context"
	"fmt"

	"github.com/medicbot/medic/internal/store"
)

// Audit returns the audit entries matching q, oldest first.
func (e *Engine) Audit(ctx context.Context, q store.AuditQuery) ([]store.AuditEntry, error) {
	entries, err := e.deps.Store.Audit(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("read audit trail: %w", err)
	}
	return entries, nil
}
