// Package dynamostore keeps medic's records in one DynamoDB table, for the
// Lambdas. Every Commit is one conditional write, or one TransactWriteItems
// call when it touches more than one item (a transition and its audit entry
// always travel together). A failed condition comes back as a
// *store.ConflictError naming the record.
//
// # Table
//
// The table is named by MEDIC_TABLE. Key schema: partition key "pk" (S),
// sort key "sk" (S); TTL attribute "expires_at" (epoch seconds); no
// secondary index. Items:
//
//	record          pk                     sk
//	incident        INC#<incident id>      INCIDENT
//	proposal        INC#<incident id>      PROP#<policy>#<step, 6 digits>
//	audit (by inc)  INC#<incident id>      AUDIT#<audit id>
//	alarm index     ALARM#<alarm arn>      <state timestamp>#<incident id>
//	audit (by day)  AUDIT#<yyyy-mm-dd>     <audit id>
//	lock            LOCK                   <target>
//	cooldown        COOLDOWN               <policy>|<target>
//	counter         COUNTER                <counter key>
//	kill switch     SWITCH                 paused
//	owed message    OWED                   <outbox entry id>
//
// Records are stored as JSON in "doc", with the attributes conditions need
// beside it: "st" (state), "ver" (version), "holder", "lease_until",
// "stale", "until", "n", and "paused" (BOOL) on the kill switch, which a
// Tx with RequireNotPaused checks in the same TransactWriteItems. DynamoDB
// deletes expired items only eventually, so every read also filters on
// expires_at.
package dynamostore

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/medicbot/medic/internal/store"
)

// API is the DynamoDB calls the store makes; *dynamodb.Client implements it.
type API interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
}

// Options tune the store.
type Options struct {
	// Now is the clock used to hide expired items; time.Now by default.
	Now func() time.Time
	// AuditRetention is how long audit entries are kept (TTL); 90 days by
	// default.
	AuditRetention time.Duration
}

// Store is a DynamoDB-backed store.Store.
type Store struct {
	api       API
	table     string
	now       func() time.Time
	retention time.Duration
}

var _ store.Store = (*Store)(nil)

// New returns a store on the table named table.
func New(api API, table string, opts Options) *Store {
	s := &Store{api: api, table: table, now: opts.Now, retention: opts.AuditRetention}
	if s.now == nil {
		s.now = time.Now
	}
	if s.retention == 0 {
		s.retention = 90 * 24 * time.Hour
	}
	return s
}

// Attribute names.
const (
	attrPK         = "pk"
	attrSK         = "sk"
	attrDoc        = "doc"
	attrState      = "st"
	attrVersion    = "ver"
	attrExpiresAt  = "expires_at"
	attrHolder     = "holder"
	attrLeaseUntil = "lease_until"
	attrStale      = "stale"
	attrAcquired   = "acquired_at"
	attrUntil      = "until"
	attrN          = "n"
	attrPaused     = "paused"

	skIncident = "INCIDENT"
	pkLock     = "LOCK"
	pkCooldown = "COOLDOWN"
	pkCounter  = "COUNTER"
	pkSwitch   = "SWITCH"
	skSwitch   = store.SwitchKey
	pkOwed     = "OWED"
	dayFormat  = "2006-01-02"
	tsFormat   = "2006-01-02T15:04:05.000000000Z"
)

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
func n(v int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}
func b(v bool) types.AttributeValue { return &types.AttributeValueMemberBOOL{Value: v} }

func key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{attrPK: s(pk), attrSK: s(sk)}
}

func incidentKey(id string) map[string]types.AttributeValue { return key("INC#"+id, skIncident) }

func proposalKey(id string) (map[string]types.AttributeValue, error) {
	inc, pol, step, err := store.ParseProposalID(id)
	if err != nil {
		return nil, err
	}
	return key("INC#"+inc, fmt.Sprintf("PROP#%s#%06d", pol, step)), nil
}

func epoch(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

// op is one item of a transaction and what a failed condition on it means.
type op struct {
	item types.TransactWriteItem
	kind string
	key  string
	// create: a failed condition means the record exists.
	create bool
}

// Commit applies tx as one conditional write or one TransactWriteItems.
func (st *Store) Commit(ctx context.Context, tx *store.Tx) error {
	if err := tx.Validate(); err != nil {
		return err
	}
	ops, err := st.ops(tx)
	if err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	if len(ops) == 0 {
		return nil
	}
	if len(ops) > 100 {
		return fmt.Errorf("commit: %w: %d items, DynamoDB allows 100", store.ErrInvalid, len(ops))
	}
	if len(ops) == 1 {
		err = st.single(ctx, ops[0])
	} else {
		items := make([]types.TransactWriteItem, len(ops))
		for i, o := range ops {
			items[i] = o.item
		}
		_, err = st.api.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
		err = transactError(err, ops)
	}
	if err != nil {
		return err
	}
	tx.Committed()
	return nil
}

func (st *Store) single(ctx context.Context, o op) error {
	var err error
	switch {
	case o.item.Put != nil:
		p := o.item.Put
		_, err = st.api.PutItem(ctx, &dynamodb.PutItemInput{TableName: p.TableName, Item: p.Item,
			ConditionExpression: p.ConditionExpression, ExpressionAttributeNames: p.ExpressionAttributeNames, ExpressionAttributeValues: p.ExpressionAttributeValues})
	case o.item.Update != nil:
		u := o.item.Update
		_, err = st.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: u.TableName, Key: u.Key, UpdateExpression: u.UpdateExpression,
			ConditionExpression: u.ConditionExpression, ExpressionAttributeNames: u.ExpressionAttributeNames, ExpressionAttributeValues: u.ExpressionAttributeValues})
	case o.item.Delete != nil:
		d := o.item.Delete
		_, err = st.api.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: d.TableName, Key: d.Key,
			ConditionExpression: d.ConditionExpression, ExpressionAttributeNames: d.ExpressionAttributeNames, ExpressionAttributeValues: d.ExpressionAttributeValues})
	default:
		_, err = st.api.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{o.item}})
		return transactError(err, []op{o})
	}
	if err == nil {
		return nil
	}
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return &store.ConflictError{Kind: o.kind, Key: o.key, Exists: o.create}
	}
	return fmt.Errorf("commit %s %s: %w", o.kind, o.key, err)
}

// transactError maps a TransactionCanceledException to the ConflictError of
// the first item whose condition failed.
func transactError(err error, ops []op) error {
	if err == nil {
		return nil
	}
	var tce *types.TransactionCanceledException
	if errors.As(err, &tce) {
		var transient *store.ConflictError
		for i, r := range tce.CancellationReasons {
			if i >= len(ops) || r.Code == nil {
				continue
			}
			switch *r.Code {
			case "ConditionalCheckFailed":
				return &store.ConflictError{Kind: ops[i].kind, Key: ops[i].key, Exists: ops[i].create}
			case "TransactionConflict":
				if transient == nil {
					transient = &store.ConflictError{Kind: ops[i].kind, Key: ops[i].key, Transient: true}
				}
			}
		}
		if transient != nil {
			return transient
		}
	}
	var tip *types.TransactionInProgressException
	if errors.As(err, &tip) {
		return &store.ConflictError{Kind: ops[0].kind, Key: ops[0].key, Transient: true}
	}
	return fmt.Errorf("commit transaction of %d items: %w", len(ops), err)
}

func (st *Store) put(item map[string]types.AttributeValue, cond string, names map[string]string, values map[string]types.AttributeValue) types.TransactWriteItem {
	p := &types.Put{TableName: &st.table, Item: item}
	if cond != "" {
		p.ConditionExpression = &cond
		p.ExpressionAttributeNames = names
		p.ExpressionAttributeValues = values
	}
	return types.TransactWriteItem{Put: p}
}

func doc(v any) (types.AttributeValue, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return s(string(raw)), nil
}

func (st *Store) ops(tx *store.Tx) ([]op, error) {
	var ops []op
	now := tx.Now
	for _, w := range tx.Incidents {
		inc := *w.Incident
		inc.Version++
		d, err := doc(&inc)
		if err != nil {
			return nil, fmt.Errorf("encode incident %s: %w", inc.ID, err)
		}
		item := incidentKey(inc.ID)
		item[attrDoc] = d
		item[attrState] = s(string(inc.State))
		item[attrVersion] = n(inc.Version)
		if !inc.ExpiresAt.IsZero() {
			item[attrExpiresAt] = n(epoch(inc.ExpiresAt))
		}
		var cond string
		values := map[string]types.AttributeValue{}
		if w.Create {
			cond = "attribute_not_exists(pk) OR expires_at < :now"
			values[":now"] = n(now.Unix())
		} else {
			cond = "ver = :ver"
			values[":ver"] = n(w.Incident.Version)
		}
		ops = append(ops, op{item: st.put(item, cond, nil, values), kind: store.KindIncident, key: inc.ID, create: w.Create})
		if w.Create {
			idx := key("ALARM#"+inc.Alarm.ARN, inc.Alarm.Timestamp.UTC().Format(tsFormat)+"#"+inc.ID)
			idx["incident"] = s(inc.ID)
			if !inc.ExpiresAt.IsZero() {
				idx[attrExpiresAt] = n(epoch(inc.ExpiresAt))
			}
			ops = append(ops, op{item: st.put(idx, "", nil, nil), kind: store.KindIncident, key: inc.ID})
		}
	}
	for _, w := range tx.Proposals {
		p := *w.Proposal
		p.Version++
		d, err := doc(&p)
		if err != nil {
			return nil, fmt.Errorf("encode proposal %s: %w", p.ID, err)
		}
		item, err := proposalKey(p.ID)
		if err != nil {
			return nil, err
		}
		item[attrDoc] = d
		item[attrState] = s(string(p.State))
		item[attrVersion] = n(p.Version)
		if !p.RecordExpiresAt.IsZero() {
			item[attrExpiresAt] = n(epoch(p.RecordExpiresAt))
		}
		if w.Create {
			ops = append(ops, op{item: st.put(item, "attribute_not_exists(pk) OR expires_at < :now", nil,
				map[string]types.AttributeValue{":now": n(now.Unix())}), kind: store.KindProposal, key: p.ID, create: true})
			continue
		}
		ops = append(ops, op{
			item: st.put(item, "#st = :from AND ver = :ver", map[string]string{"#st": attrState},
				map[string]types.AttributeValue{":from": s(string(w.From)), ":ver": n(w.Proposal.Version)}),
			kind: store.KindProposal, key: p.ID,
		})
	}
	for _, w := range tx.Locks {
		l := w.Lock
		k := key(pkLock, l.Target)
		o := op{kind: store.KindLock, key: l.Target}
		switch w.Op {
		case store.LockAcquire:
			acquired := l.AcquiredAt
			if acquired.IsZero() {
				acquired = now
			}
			k[attrHolder] = s(l.Holder)
			k[attrLeaseUntil] = n(l.LeaseUntil.UnixNano())
			k[attrStale] = b(false)
			k[attrAcquired] = n(acquired.UnixNano())
			o.item = st.put(k, "attribute_not_exists(pk) OR holder = :h OR stale = :true", nil,
				map[string]types.AttributeValue{":h": s(l.Holder), ":true": b(true)})
		case store.LockRelease:
			cond := "holder = :h"
			o.item = types.TransactWriteItem{Delete: &types.Delete{TableName: &st.table, Key: k, ConditionExpression: &cond,
				ExpressionAttributeValues: map[string]types.AttributeValue{":h": s(l.Holder)}}}
		case store.LockMarkStale:
			cond := "holder = :h AND lease_until < :now"
			upd := "SET stale = :true"
			o.item = types.TransactWriteItem{Update: &types.Update{TableName: &st.table, Key: k, ConditionExpression: &cond, UpdateExpression: &upd,
				ExpressionAttributeValues: map[string]types.AttributeValue{":h": s(l.Holder), ":now": n(now.UnixNano()), ":true": b(true)}}}
		}
		ops = append(ops, o)
	}
	for _, w := range tx.Cooldowns {
		c := w.Cooldown
		k := key(pkCooldown, c.Key())
		o := op{kind: store.KindCooldown, key: c.Key()}
		if w.CheckOnly {
			cond := "attribute_not_exists(pk) OR #until <= :now"
			o.item = types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{TableName: &st.table, Key: k, ConditionExpression: &cond,
				ExpressionAttributeNames:  map[string]string{"#until": attrUntil},
				ExpressionAttributeValues: map[string]types.AttributeValue{":now": n(now.UnixNano())}}}
		} else {
			d, err := doc(&c)
			if err != nil {
				return nil, fmt.Errorf("encode cooldown %s: %w", c.Key(), err)
			}
			k[attrDoc] = d
			k[attrUntil] = n(c.Until.UnixNano())
			k[attrExpiresAt] = n(epoch(c.Until.Add(24 * time.Hour)))
			o.item = st.put(k, "", nil, nil)
		}
		ops = append(ops, o)
	}
	for _, w := range tx.Counters {
		upd := "ADD n :one SET expires_at = :exp"
		u := &types.Update{TableName: &st.table, Key: key(pkCounter, w.Key), UpdateExpression: &upd,
			ExpressionAttributeValues: map[string]types.AttributeValue{":one": n(1), ":exp": n(epoch(w.ExpiresAt))}}
		if w.Limit > 0 {
			cond := "attribute_not_exists(n) OR n < :limit"
			u.ConditionExpression = &cond
			u.ExpressionAttributeValues[":limit"] = n(int64(w.Limit))
		}
		ops = append(ops, op{item: types.TransactWriteItem{Update: u}, kind: store.KindCounter, key: w.Key})
	}
	if tx.Switch != nil {
		d, err := doc(tx.Switch)
		if err != nil {
			return nil, fmt.Errorf("encode kill switch: %w", err)
		}
		item := key(pkSwitch, skSwitch)
		item[attrDoc] = d
		item[attrPaused] = b(tx.Switch.Paused)
		ops = append(ops, op{item: st.put(item, "", nil, nil), kind: store.KindSwitch, key: skSwitch})
	}
	if tx.RequireNotPaused {
		ops = append(ops, op{item: types.TransactWriteItem{ConditionCheck: st.notPaused()}, kind: store.KindSwitch, key: skSwitch})
	}
	for _, w := range tx.Owed {
		k := key(pkOwed, w.Owed.ID)
		o := op{kind: store.KindOwed, key: w.Owed.ID, create: w.Create}
		switch {
		case w.Delete:
			o.item = types.TransactWriteItem{Delete: &types.Delete{TableName: &st.table, Key: k}}
		default:
			e := *w.Owed
			e.Version++
			d, err := doc(&e)
			if err != nil {
				return nil, fmt.Errorf("encode owed message %s: %w", e.ID, err)
			}
			k[attrDoc] = d
			k[attrVersion] = n(e.Version)
			if w.Create {
				o.item = st.put(k, "attribute_not_exists(pk)", nil, nil)
			} else {
				o.item = st.put(k, "ver = :ver", nil, map[string]types.AttributeValue{":ver": n(w.Owed.Version)})
			}
		}
		ops = append(ops, o)
	}
	nonce := newNonce()
	for i, a := range tx.Audit {
		a.Time = tx.AuditTime(a)
		a.ID = store.AuditID(a.Time, i, nonce)
		d, err := doc(&a)
		if err != nil {
			return nil, fmt.Errorf("encode audit entry: %w", err)
		}
		exp := n(epoch(a.Time.Add(st.retention)))
		item := key("AUDIT#"+a.Time.Format(dayFormat), a.ID)
		item[attrDoc] = d
		item[attrExpiresAt] = exp
		ops = append(ops, op{item: st.put(item, "", nil, nil), kind: "audit", key: a.ID})
		if a.Incident != "" {
			item := key("INC#"+a.Incident, "AUDIT#"+a.ID)
			item[attrDoc] = d
			item[attrExpiresAt] = exp
			ops = append(ops, op{item: st.put(item, "", nil, nil), kind: "audit", key: a.ID})
		}
	}
	return ops, nil
}

// notPausedCondition holds when the kill switch item is absent or not
// paused. A switch item written before the "paused" attribute existed has
// only its doc; it counts as paused when the doc says so (json.Marshal of a
// store.Switch writes `"paused":true` exactly so, and a quote inside a
// string value would be escaped).
const notPausedCondition = "attribute_not_exists(pk) OR #paused = :false OR (attribute_not_exists(#paused) AND NOT contains(#doc, :on))"

// notPaused is the condition check of Tx.RequireNotPaused.
func (st *Store) notPaused() *types.ConditionCheck {
	cond := notPausedCondition
	return &types.ConditionCheck{TableName: &st.table, Key: key(pkSwitch, skSwitch), ConditionExpression: &cond,
		ExpressionAttributeNames:  map[string]string{"#paused": attrPaused, "#doc": attrDoc},
		ExpressionAttributeValues: map[string]types.AttributeValue{":false": b(false), ":on": s(`"paused":true`)}}
}

func newNonce() string {
	v := rand.Uint32()
	return hex.EncodeToString([]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// getItem reads one item consistently; nil when absent.
func (st *Store) getItem(ctx context.Context, k map[string]types.AttributeValue) (map[string]types.AttributeValue, error) {
	out, err := st.api.GetItem(ctx, &dynamodb.GetItemInput{TableName: &st.table, Key: k, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, err
	}
	if len(out.Item) == 0 || st.expired(out.Item) {
		return nil, nil
	}
	return out.Item, nil
}

func (st *Store) expired(item map[string]types.AttributeValue) bool {
	v, ok := item[attrExpiresAt].(*types.AttributeValueMemberN)
	if !ok {
		return false
	}
	at, err := strconv.ParseInt(v.Value, 10, 64)
	return err == nil && at > 0 && at < st.now().Unix()
}

func decodeDoc(item map[string]types.AttributeValue, v any) error {
	d, ok := item[attrDoc].(*types.AttributeValueMemberS)
	if !ok {
		return errors.New("item has no doc attribute")
	}
	return json.Unmarshal([]byte(d.Value), v)
}

// query runs a consistent query of one partition, sk beginning with prefix
// (or from start when start is set), following pages.
func (st *Store) query(ctx context.Context, pk, prefix, start string) ([]map[string]types.AttributeValue, error) {
	in := &dynamodb.QueryInput{TableName: &st.table, ConsistentRead: aws.Bool(true),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": s(pk)}}
	cond := "pk = :pk"
	switch {
	case start != "":
		cond += " AND sk >= :start"
		in.ExpressionAttributeValues[":start"] = s(start)
	case prefix != "":
		cond += " AND begins_with(sk, :prefix)"
		in.ExpressionAttributeValues[":prefix"] = s(prefix)
	}
	in.KeyConditionExpression = &cond
	var items []map[string]types.AttributeValue
	for {
		out, err := st.api.Query(ctx, in)
		if err != nil {
			return nil, err
		}
		for _, it := range out.Items {
			if !st.expired(it) {
				items = append(items, it)
			}
		}
		if len(out.LastEvaluatedKey) == 0 {
			return items, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// Incident returns one incident.
func (st *Store) Incident(ctx context.Context, id string) (*store.Incident, error) {
	item, err := st.getItem(ctx, incidentKey(id))
	if err != nil {
		return nil, fmt.Errorf("read incident %s: %w", id, err)
	}
	if item == nil {
		return nil, fmt.Errorf("read incident %s: %w", id, store.ErrNotFound)
	}
	var inc store.Incident
	if err := decodeDoc(item, &inc); err != nil {
		return nil, fmt.Errorf("decode incident %s: %w", id, err)
	}
	return &inc, nil
}

// IncidentsByAlarm returns one alarm's incidents, oldest state change first.
func (st *Store) IncidentsByAlarm(ctx context.Context, arn string) ([]*store.Incident, error) {
	items, err := st.query(ctx, "ALARM#"+arn, "", "")
	if err != nil {
		return nil, fmt.Errorf("list incidents of %s: %w", arn, err)
	}
	var out []*store.Incident
	for _, it := range items {
		id, _ := it["incident"].(*types.AttributeValueMemberS)
		if id == nil {
			continue
		}
		inc, err := st.Incident(ctx, id.Value)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("list incidents of %s: %w", arn, err)
		}
		out = append(out, inc)
	}
	return out, nil
}

// Proposal returns one proposal.
func (st *Store) Proposal(ctx context.Context, id string) (*store.Proposal, error) {
	k, err := proposalKey(id)
	if err != nil {
		return nil, fmt.Errorf("read proposal: %w", store.ErrNotFound)
	}
	item, err := st.getItem(ctx, k)
	if err != nil {
		return nil, fmt.Errorf("read proposal %s: %w", id, err)
	}
	if item == nil {
		return nil, fmt.Errorf("read proposal %s: %w", id, store.ErrNotFound)
	}
	var p store.Proposal
	if err := decodeDoc(item, &p); err != nil {
		return nil, fmt.Errorf("decode proposal %s: %w", id, err)
	}
	return &p, nil
}

// Proposals returns an incident's proposals ordered by policy and step.
func (st *Store) Proposals(ctx context.Context, incident string) ([]*store.Proposal, error) {
	items, err := st.query(ctx, "INC#"+incident, "PROP#", "")
	if err != nil {
		return nil, fmt.Errorf("list proposals of %s: %w", incident, err)
	}
	out := make([]*store.Proposal, 0, len(items))
	for _, it := range items {
		var p store.Proposal
		if err := decodeDoc(it, &p); err != nil {
			return nil, fmt.Errorf("decode a proposal of %s: %w", incident, err)
		}
		out = append(out, &p)
	}
	store.SortProposals(out)
	return out, nil
}

func lockFrom(item map[string]types.AttributeValue) *store.Lock {
	l := &store.Lock{}
	if v, ok := item[attrSK].(*types.AttributeValueMemberS); ok {
		l.Target = v.Value
	}
	if v, ok := item[attrHolder].(*types.AttributeValueMemberS); ok {
		l.Holder = v.Value
	}
	if v, ok := item[attrStale].(*types.AttributeValueMemberBOOL); ok {
		l.Stale = v.Value
	}
	l.LeaseUntil = nanos(item[attrLeaseUntil])
	l.AcquiredAt = nanos(item[attrAcquired])
	return l
}

func nanos(v types.AttributeValue) time.Time {
	nv, ok := v.(*types.AttributeValueMemberN)
	if !ok {
		return time.Time{}
	}
	i, err := strconv.ParseInt(nv.Value, 10, 64)
	if err != nil {
		return time.Time{}
	}
	return time.Unix(0, i).UTC()
}

// Lock returns the lock on target.
func (st *Store) Lock(ctx context.Context, target string) (*store.Lock, error) {
	item, err := st.getItem(ctx, key(pkLock, target))
	if err != nil {
		return nil, fmt.Errorf("read lock %s: %w", target, err)
	}
	if item == nil {
		return nil, fmt.Errorf("read lock %s: %w", target, store.ErrNotFound)
	}
	return lockFrom(item), nil
}

// Locks returns every lock.
func (st *Store) Locks(ctx context.Context) ([]*store.Lock, error) {
	items, err := st.query(ctx, pkLock, "", "")
	if err != nil {
		return nil, fmt.Errorf("list locks: %w", err)
	}
	out := make([]*store.Lock, 0, len(items))
	for _, it := range items {
		out = append(out, lockFrom(it))
	}
	return out, nil
}

// Cooldown returns a running cooldown.
func (st *Store) Cooldown(ctx context.Context, policyName, target string) (*store.Cooldown, error) {
	k := store.Cooldown{Policy: policyName, Target: target}.Key()
	item, err := st.getItem(ctx, key(pkCooldown, k))
	if err != nil {
		return nil, fmt.Errorf("read cooldown %s: %w", k, err)
	}
	if item == nil {
		return nil, fmt.Errorf("read cooldown %s: %w", k, store.ErrNotFound)
	}
	var c store.Cooldown
	if err := decodeDoc(item, &c); err != nil {
		return nil, fmt.Errorf("decode cooldown %s: %w", k, err)
	}
	if !c.Until.After(st.now()) {
		return nil, fmt.Errorf("read cooldown %s: %w", k, store.ErrNotFound)
	}
	return &c, nil
}

// Counter returns a counter's value.
func (st *Store) Counter(ctx context.Context, k string) (int, error) {
	item, err := st.getItem(ctx, key(pkCounter, k))
	if err != nil {
		return 0, fmt.Errorf("read counter %s: %w", k, err)
	}
	if item == nil {
		return 0, nil
	}
	v, ok := item[attrN].(*types.AttributeValueMemberN)
	if !ok {
		return 0, nil
	}
	c, err := strconv.Atoi(v.Value)
	if err != nil {
		return 0, fmt.Errorf("decode counter %s: %w", k, err)
	}
	return c, nil
}

// Switch returns the stored kill switch.
func (st *Store) Switch(ctx context.Context) (*store.Switch, error) {
	item, err := st.getItem(ctx, key(pkSwitch, skSwitch))
	if err != nil {
		return nil, fmt.Errorf("read kill switch: %w", err)
	}
	sw := &store.Switch{}
	if item == nil {
		return sw, nil
	}
	if err := decodeDoc(item, sw); err != nil {
		return nil, fmt.Errorf("decode kill switch: %w", err)
	}
	return sw, nil
}

// maxAuditDays bounds how many day partitions one audit query reads.
const maxAuditDays = 400

// Audit returns matching audit entries, oldest first. Without an incident
// it reads one partition per day from Since to now.
func (st *Store) Audit(ctx context.Context, q store.AuditQuery) ([]store.AuditEntry, error) {
	now := st.now().UTC()
	since := q.SinceAt(now).UTC()
	var items []map[string]types.AttributeValue
	if q.Incident != "" {
		start := ""
		if !since.IsZero() {
			start = "AUDIT#" + since.Format(tsFormat)
		}
		var err error
		if start != "" {
			items, err = st.query(ctx, "INC#"+q.Incident, "", start)
		} else {
			items, err = st.query(ctx, "INC#"+q.Incident, "AUDIT#", "")
		}
		if err != nil {
			return nil, fmt.Errorf("read audit of %s: %w", q.Incident, err)
		}
	} else {
		day := since.Truncate(24 * time.Hour)
		if now.Sub(day) > maxAuditDays*24*time.Hour {
			day = now.Add(-maxAuditDays * 24 * time.Hour).Truncate(24 * time.Hour)
		}
		for ; !day.After(now); day = day.Add(24 * time.Hour) {
			got, err := st.query(ctx, "AUDIT#"+day.Format(dayFormat), "", since.Format(tsFormat))
			if err != nil {
				return nil, fmt.Errorf("read audit of %s: %w", day.Format(dayFormat), err)
			}
			items = append(items, got...)
		}
	}
	out := make([]store.AuditEntry, 0, len(items))
	for _, it := range items {
		sk, _ := it[attrSK].(*types.AttributeValueMemberS)
		if sk != nil && q.Incident != "" && !strings.HasPrefix(sk.Value, "AUDIT#") {
			continue // a proposal or the incident itself
		}
		var a store.AuditEntry
		if err := decodeDoc(it, &a); err != nil {
			return nil, fmt.Errorf("decode audit entry: %w", err)
		}
		if a.Time.Before(since) {
			continue
		}
		out = append(out, a)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Owed returns up to limit outbox entries (0: all), oldest first.
func (st *Store) Owed(ctx context.Context, limit int) ([]*store.Owed, error) {
	items, err := st.query(ctx, pkOwed, "", "")
	if err != nil {
		return nil, fmt.Errorf("list owed messages: %w", err)
	}
	out := make([]*store.Owed, 0, len(items))
	for _, it := range items {
		if limit > 0 && len(out) >= limit {
			break
		}
		var o store.Owed
		if err := decodeDoc(it, &o); err != nil {
			return nil, fmt.Errorf("decode owed message: %w", err)
		}
		out = append(out, &o)
	}
	return out, nil
}
