package scenarios

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/asconform/asconform/fakeas"
	"github.com/asconform/asconform/internal/csapi"
	"github.com/asconform/asconform/internal/matrix"
	"github.com/asconform/asconform/internal/recorder"
	"github.com/asconform/asconform/scenarios/match"
)

// AppService is one fake AS as a scenario sees it: what it received since
// the scenario began, and a client acting with its as_token.
type AppService struct {
	AS       *fakeas.Server
	Reg      matrix.Registration
	ASClient *csapi.Client
	// Patience scales the waits for what the homeserver does by itself:
	// a reference that retries within milliseconds needs a fraction.
	Patience float64
	mark     int // the fake's exchanges before the scenario
}

// NewAppService starts a scenario on fake: what it received before is
// not the scenario's.
func NewAppService(fake *fakeas.Server, client *csapi.Client, patience float64) *AppService {
	return &AppService{AS: fake, Reg: fake.Registration(), ASClient: client, Patience: patience, mark: fake.Recorder().Len()}
}

// Wait scales d by the scenario's patience.
func (a *AppService) Wait(d time.Duration) time.Duration {
	return time.Duration(float64(d) * a.Patience)
}

// NamespacePrefix is the start of every user localpart and alias in the
// AS's exclusive namespaces.
func (a *AppService) NamespacePrefix() string {
	if m, ok := a.Member(); ok {
		return m.Prefix()
	}
	// External registrations: derive it from the users regex.
	return strings.TrimPrefix(strings.SplitN(a.Reg.Namespaces.Users[0].Regex, ".*", 2)[0], "@")
}

// Member is the AS's place in the fake-AS pool; false for a registration
// the pool did not make (external mode).
func (a *AppService) Member() (fakeas.Member, bool) { return fakeas.MemberOf(a.Reg.ID) }

// Delivered is a transaction the fake AS received, decoded.
type Delivered struct {
	TxnID    string
	Exchange recorder.Exchange
	Txn      matrix.Transaction
}

// Received returns what the fake AS got since the scenario began.
func (a *AppService) Received() []recorder.Exchange { return a.AS.Recorder().Since(a.mark) }

// Deliveries returns the transactions received since the scenario began,
// in arrival order, retries included, whatever their method (BeTransaction
// judges it).
func (a *AppService) Deliveries() []Delivered {
	var out []Delivered
	for _, e := range a.Received() {
		id, ok := strings.CutPrefix(e.Path, "/_matrix/app/v1/transactions/")
		if !ok {
			continue
		}
		d := Delivered{TxnID: id, Exchange: e}
		_ = json.Unmarshal(e.Body, &d.Txn)
		out = append(out, d)
	}
	return out
}

// Carries says whether the transaction carries eventID.
func (d Delivered) Carries(eventID string) bool {
	return slices.ContainsFunc(d.Txn.Events, func(ev matrix.ClientEvent) bool { return ev.EventID == eventID })
}

// EventIDs lists the events of ds, in order, repeats included.
func EventIDs(ds []Delivered) []string {
	var ids []string
	for _, d := range ds {
		for _, ev := range d.Txn.Events {
			ids = append(ids, ev.EventID)
		}
	}
	return ids
}

// DeliveryTimeout bounds the wait for an event to reach the fake AS when
// nothing fails on purpose; Synapse needs well under a second.
const DeliveryTimeout = 20 * time.Second

// awaitDelivery waits (within bound, scaled) until done holds for the
// scenario's deliveries.
func (a *AppService) awaitDelivery(ctx context.Context, bound time.Duration, done func([]Delivered) bool) error {
	ctx, cancel := context.WithTimeout(ctx, a.Wait(bound))
	defer cancel()
	_, err := a.AS.Recorder().WaitFor(ctx, func([]recorder.Exchange) bool { return done(a.Deliveries()) })
	return err
}

// WaitForEvent waits until a transaction carrying eventID arrives.
func (a *AppService) WaitForEvent(ctx context.Context, eventID string) (Delivered, matrix.ClientEvent, error) {
	var found Delivered
	var event matrix.ClientEvent
	var refused error
	err := a.awaitDelivery(ctx, DeliveryTimeout, func(ds []Delivered) bool {
		for _, d := range ds {
			// The fake refuses only what breaks the protocol; the
			// homeserver then holds its queue, so waiting on is useless.
			if refused = a.refusal(d); refused != nil {
				return true
			}
			for _, ev := range d.Txn.Events {
				if ev.EventID == eventID {
					found, event = d, ev
					return true
				}
			}
		}
		return false
	})
	if refused == nil && err != nil {
		refused = err
	}
	if refused != nil {
		return found, event, fmt.Errorf("event %s did not reach the fake AS: %w", eventID, refused)
	}
	return found, event, nil
}

// ExpectEvent is WaitForEvent failing the spec when the event does not come.
func (a *AppService) ExpectEvent(ctx context.Context, eventID string, why ...any) (Delivered, matrix.ClientEvent) {
	GinkgoHelper()
	d, ev, err := a.WaitForEvent(ctx, eventID)
	Expect(err).NotTo(HaveOccurred(), why...)
	return d, ev
}

// refusal says why the fake AS refused a transaction (4xx), or nil.
func (a *AppService) refusal(d Delivered) error {
	if d.Exchange.Status < 400 || d.Exchange.Status >= 500 {
		return nil
	}
	problems := match.TransactionProblems(d.Exchange)
	if ok, _ := match.BeBearer(a.Reg.HSToken).Match(d.Exchange); !ok {
		problems = append(problems, "the Authorization header does not carry its hs_token as a Bearer token")
	}
	return fmt.Errorf("the fake AS refused %s %s with %d: %s", d.Exchange.Method, d.Exchange.Path, d.Exchange.Status, strings.Join(problems, "; "))
}

// WaitForAck waits until a transaction carrying eventID was acknowledged
// and returns every attempt that carried it, in order, up to the
// acknowledged one. Attempts are found by the event, not by a transaction
// ID, so that a retry under another ID is seen (and judged by RetryAsSent).
func (a *AppService) WaitForAck(ctx context.Context, eventID string) ([]Delivered, error) {
	return a.WaitForAckWithin(ctx, eventID, 90*time.Second)
}

// WaitForAckWithin is WaitForAck with its own bound (scaled by patience).
func (a *AppService) WaitForAckWithin(ctx context.Context, eventID string, bound time.Duration) ([]Delivered, error) {
	var attempts []Delivered
	err := a.awaitDelivery(ctx, bound, func(ds []Delivered) bool {
		attempts = nil
		for _, d := range ds {
			if d.Carries(eventID) {
				attempts = append(attempts, d)
				if d.Exchange.Status == 200 {
					return true
				}
			}
		}
		return false
	})
	if err != nil {
		return attempts, fmt.Errorf("no acknowledged transaction carried %s: %w", eventID, err)
	}
	return attempts, nil
}

// ExpectAck is WaitForAck failing the spec when no acknowledgement comes.
func (a *AppService) ExpectAck(ctx context.Context, eventID string) []Delivered {
	GinkgoHelper()
	attempts, err := a.WaitForAck(ctx, eventID)
	Expect(err).NotTo(HaveOccurred())
	return attempts
}

// Settle waits until the homeserver's queue for the AS is empty: a message
// sent now is acknowledged only after everything before it. Scripts set
// after Settle therefore hit the scenario's own next transaction.
func (a *AppService) Settle(ctx context.Context, room BridgedRoom) {
	GinkgoHelper()
	Expect(a.ExpectAck(ctx, room.Say(ctx, room.Owner, "(settling the queue)"))).NotTo(BeEmpty())
}

// WaitForAll waits until the first of sent was acknowledged (the retry
// schedule's bound), then for the others within the bound of one normal
// delivery: once the homeserver delivers again, it has no reason to hold
// any. A missing event is left to DeliverExactlyOnceInOrder to name.
func (a *AppService) WaitForAll(ctx context.Context, sent []Sent) {
	GinkgoHelper()
	a.ExpectAck(ctx, sent[0].ID)
	rest, cancel := context.WithTimeout(ctx, a.Wait(DeliveryTimeout))
	defer cancel()
	for _, s := range sent[1:] {
		_, _ = a.WaitForAckWithin(rest, s.ID, DeliveryTimeout)
	}
}

// WaitForFailedAttempt waits until the fake AS recorded a failed delivery
// in this scenario: the homeserver has then seen the AS down.
func (a *AppService) WaitForFailedAttempt(ctx context.Context) {
	GinkgoHelper()
	err := a.awaitDelivery(ctx, DeliveryTimeout, func(ds []Delivered) bool {
		return slices.ContainsFunc(ds, func(d Delivered) bool { return d.Exchange.Status != 200 })
	})
	Expect(err).NotTo(HaveOccurred(), "the homeserver never tried to deliver while the AS was down")
}

// WaitForMember waits until a pushed m.room.member event of roomID puts
// userID in membership.
func (a *AppService) WaitForMember(ctx context.Context, roomID, userID, membership string) error {
	err := a.awaitDelivery(ctx, DeliveryTimeout, func(ds []Delivered) bool {
		for _, d := range ds {
			for _, ev := range d.Txn.Events {
				var content struct {
					Membership string `json:"membership"`
				}
				if ev.Type == "m.room.member" && ev.RoomID == roomID && ev.StateKey != nil && *ev.StateKey == userID &&
					json.Unmarshal(ev.Content, &content) == nil && content.Membership == membership {
					return true
				}
			}
		}
		return false
	})
	if err != nil {
		return fmt.Errorf("no pushed m.room.member event made %s %q in %s: %w", userID, membership, roomID, err)
	}
	return nil
}

// WaitForEphemeral waits until an entry of a transaction's ephemeral array
// satisfies want, and returns it; err says none came.
func (a *AppService) WaitForEphemeral(ctx context.Context, want func(map[string]any) bool) (map[string]any, error) {
	var found map[string]any
	err := a.awaitDelivery(ctx, DeliveryTimeout, func(ds []Delivered) bool {
		for _, e := range Ephemeral(ds) {
			if want(e) {
				found = e
				return true
			}
		}
		return false
	})
	return found, err
}

// Ephemeral lists the entries of the ephemeral arrays of ds, decoded.
func Ephemeral(ds []Delivered) []map[string]any {
	var out []map[string]any
	for _, d := range ds {
		for _, raw := range d.Txn.Ephemeral {
			var e map[string]any
			_ = json.Unmarshal(raw, &e)
			out = append(out, e)
		}
	}
	return out
}

// ExpectNoEphemeral makes the fake strict (fakeas.Server.Expect): only
// transactions, none with ephemeral data, as for an AS that did not opt in.
func (a *AppService) ExpectNoEphemeral() {
	a.AS.Expect(func(in fakeas.Request) error {
		var txn matrix.Transaction
		if json.Unmarshal(in.Body, &txn) == nil && len(txn.Ephemeral) > 0 {
			return errors.New("ephemeral data for an AS without receive_ephemeral")
		}
		return nil
	}, fakeas.Transactions)
}

// WaitForTxnAck waits until the transaction txnID was acknowledged.
func (a *AppService) WaitForTxnAck(ctx context.Context, txnID string) error {
	return a.awaitDelivery(ctx, DeliveryTimeout, func(ds []Delivered) bool {
		return slices.ContainsFunc(ds, func(d Delivered) bool { return d.TxnID == txnID && d.Exchange.Status == 200 })
	})
}
