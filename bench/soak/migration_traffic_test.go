package soak

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/codathook/codathook/codathooktest"
	"github.com/codathook/codathook/normalize"
)

// Timing that the traffic keeps, so that which deliveries are twins is
// decided by the semantics alone, for any matcher that pairs a legacy and a
// new arrival of one occurrence key K whose occurrence times lie within the
// pairing window (default 10 minutes), each with at most one of the other
// side:
//
//   - the genuine occurrences of one K form clusters: a cluster spans at most
//     burstSpan, and clusters of one K are at least clusterGap apart;
//   - a new delivery's occurrence time is its generatedDate (the occurrence
//     time), a legacy delivery's is its first arrival, at most
//     maxLegacyDelay after the occurrence.
//
// So every legacy and new arrival of one cluster lie within burstSpan +
// maxLegacyDelay (5m8s) of each other, inside the window, and arrivals of
// different clusters more than clusterGap - maxLegacyDelay (44m52s) apart,
// outside it: whatever pairs a matcher makes, it makes them inside clusters.
const (
	pairingWindow  = 10 * time.Minute
	burstSpan      = 5 * time.Minute
	clusterGap     = 45 * time.Minute
	maxLegacyDelay = 8 * time.Second
	maxNewLatency  = 2 * time.Second
)

func init() {
	if burstSpan+maxLegacyDelay >= pairingWindow || clusterGap-maxLegacyDelay <= 2*pairingWindow {
		panic("soak: the traffic's timing does not fit the pairing window")
	}
}

// readDataTypes are the data types of a company's daily sync.
var readDataTypes = []string{"invoices", "bills", "customers"}

// traffic generates the occurrences of a simulation and their deliveries.
type traffic struct {
	m        *migration
	rng      *rand.Rand
	n        int                       // ids handed out
	clusters map[string][][2]time.Time // K -> reserved cluster spans
	// ddc lists the companies whose legacy rules include Dataset data
	// changed as well as Data sync completed: both arrive for a sync that
	// modified records, and are one occurrence.
	ddc map[string]bool
}

func newTraffic(m *migration) *traffic {
	return &traffic{m: m, rng: rand.New(rand.NewPCG(m.cfg.seed, 0x6d6967)), clusters: map[string][][2]time.Time{}, ddc: map[string]bool{}}
}

func (g *traffic) between(lo, hi time.Duration) time.Duration {
	return lo + time.Duration(g.rng.Int64N(int64(hi-lo)/int64(time.Second)+1))*time.Second
}

func (g *traffic) chance(p float64) bool { return g.rng.Float64() < p }

// key is the occurrence key K of a non-exact occurrence.
func key(typ, company, conn, dataType, status string) string {
	return strings.Join([]string{typ, company, conn, dataType, status}, "|")
}

// reserve reports whether clusters of several keys, each at its times, fit
// the timing rules above; if they all fit they are reserved. Times close to
// a reserved cluster of their key join it if the cluster then still spans at
// most burstSpan.
func (g *traffic) reserve(groups map[string][]time.Time) bool {
	type plan struct {
		merge  int // index of the cluster joined, -1 for a new one
		lo, hi time.Time
	}
	plans := map[string]plan{}
	for k, ts := range groups {
		p := plan{merge: -1, lo: slices.MinFunc(ts, time.Time.Compare), hi: slices.MaxFunc(ts, time.Time.Compare)}
		for i, c := range g.clusters[k] {
			if !p.lo.Before(c[1].Add(clusterGap)) || !c[0].Before(p.hi.Add(clusterGap)) {
				continue // far enough
			}
			if p.merge >= 0 {
				return false
			}
			p.merge = i
		}
		if p.merge >= 0 {
			c := g.clusters[k][p.merge]
			p.lo, p.hi = minTime(p.lo, c[0]), maxTime(p.hi, c[1])
		}
		if p.hi.Sub(p.lo) > burstSpan {
			return false
		}
		plans[k] = p
	}
	for k, p := range plans {
		if p.merge >= 0 {
			g.clusters[k][p.merge] = [2]time.Time{p.lo, p.hi}
		} else {
			g.clusters[k] = append(g.clusters[k], [2]time.Time{p.lo, p.hi})
		}
	}
	return true
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func (g *traffic) ids() (newID, alertID, msgID string) {
	g.n++
	return fmt.Sprintf("evt-%d", g.n), fmt.Sprintf("alert-%d", g.n), fmt.Sprintf("msg_%d", g.n)
}

// withAlertID returns the legacy twin lb, whose AlertId is id (the new
// event's, see codathooktest.Twin), with the AlertId alertID instead.
func withAlertID(t *testing.T, lb []byte, id, alertID string) []byte {
	t.Helper()
	out := bytes.Replace(lb, []byte(`"AlertId":"`+id+`"`), []byte(`"AlertId":"`+alertID+`"`), 1)
	if bytes.Equal(out, lb) {
		t.Fatalf("legacy twin without AlertId %s: %s", id, lb)
	}
	return out
}

func genDate(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func (g *traffic) newOcc(k, typ, company string, at time.Time, exact bool) *occ {
	o := &occ{id: len(g.m.occs), k: k, exact: exact, typ: typ, company: company, at: at, step: g.m.stepAt(at)}
	g.m.occs = append(g.m.occs, o)
	return o
}

// deliver creates one delivery of body for occs, drawing its fate.
func (g *traffic) deliver(format, company, bodyID, msgID string, body []byte, at time.Time, occs ...*occ) *delivery {
	d := &delivery{format: format, company: company, bodyID: bodyID, msgID: msgID, body: body, occs: occs}
	if format == formatLegacy {
		d.name = fmt.Sprintf("L%d", len(g.m.deliveries))
		d.first = at.Add(g.between(time.Second, maxLegacyDelay))
		for _, o := range occs {
			o.legacy = append(o.legacy, d)
		}
	} else {
		d.name = fmt.Sprintf("N%d", len(g.m.deliveries))
		d.first = at.Add(g.between(0, maxNewLatency))
		for _, o := range occs {
			o.newD = d
		}
		if g.chance(g.m.cfg.lateRate) {
			// The first attempts never reached us (1: seconds late ... 7:
			// the last attempt, about 27.6 hours late).
			d.lost = 1 + g.rng.IntN(len(svixSchedule)-1)
		}
	}
	d.dropped = g.chance(g.m.cfg.dropRate)
	for i := range d.jitter {
		d.jitter[i] = 0.8 + 0.4*g.rng.Float64()
		d.replica[i] = g.rng.IntN(len(g.m.servers))
	}
	// One transient failure at most, and none on a delivery whose only
	// attempt is Svix's last: every delivery can then get through.
	d.failOnce = g.chance(g.m.cfg.failRate) && d.lost < len(svixSchedule)-1
	if prev, dup := g.m.bodies[bodyID]; dup {
		g.m.t.Fatalf("traffic: body id %s of %s used again by %s", bodyID, prev.name, d.name)
	}
	g.m.bodies[bodyID] = d
	g.m.deliveries = append(g.m.deliveries, d)
	return d
}

// services reports which services send an occurrence at t.
func (g *traffic) services(at time.Time) (legacy, newer bool) {
	s := g.m.steps[g.m.stepAt(at)]
	return s.legacyRules, s.newConsumer
}

// connection generates connection.disconnected or connection.reconnected of
// one connection at each of times (one cluster).
func (g *traffic) connection(typ, company, conn string, status string, times ...time.Time) {
	for _, at := range times {
		newID, alertID, msgID := g.ids()
		o := g.newOcc(key(typ, company, conn, "", status), typ, company, at, false)
		nb, lb, err := codathooktest.Twin(typ, codathooktest.SampleOptions{ID: newID, CompanyID: company, ConnectionID: conn, Status: status, GeneratedDate: genDate(at)})
		if err != nil {
			g.m.t.Fatal(err)
		}
		// Codat's two services never share ids: AlertId != id.
		lb = withAlertID(g.m.t, lb, newID, alertID)
		g.emit(o, nb, newID, msgID, [][2]string{{alertID, string(lb)}})
	}
}

// push generates one push operation's write event: matched by its push
// operation key, an exact key.
func (g *traffic) push(typ, dataType, company, conn string, at time.Time) {
	newID, alertID, msgID := g.ids()
	op := fmt.Sprintf("op-%d", g.n)
	o := g.newOcc("exact|"+op, dataType+"."+typ, company, at, true)
	nb, lb, err := codathooktest.Twin("invoices."+typ, codathooktest.SampleOptions{ID: newID, CompanyID: company, ConnectionID: conn, DataType: dataType, OperationID: op, GeneratedDate: genDate(at)})
	if err != nil {
		g.m.t.Fatal(err)
	}
	lb = withAlertID(g.m.t, lb, newID, alertID)
	g.emit(o, nb, newID, msgID, [][2]string{{alertID, string(lb)}})
}

// emit creates the deliveries of a single-occurrence body pair, as the
// services in force at the occurrence send them.
func (g *traffic) emit(o *occ, nb []byte, newID, msgID string, legacy [][2]string) {
	sendLegacy, sendNew := g.services(o.at)
	if sendNew {
		g.check(nb, o)
		g.deliver(formatNew, o.company, newID, msgID, nb, o.at, o)
	}
	if sendLegacy {
		for _, l := range legacy {
			g.check([]byte(l[1]), o)
			g.deliver(formatLegacy, o.company, l[0], "", []byte(l[1]), o.at, o)
		}
	}
}

// readElem is one data type of a sync.
type readElem struct {
	dataType string
	status   string // "Complete", or a dataset error status
	modified bool   // records modified: Dataset data changed is sent too
}

// read generates one sync of conn at at: one new read.completed with an
// element per data type, and per data type a legacy Data sync completed
// (Data Sync Status Changed To Error when it failed), plus Dataset data
// changed of the same dataset when the company has that rule and records
// changed. Each element is one occurrence.
func (g *traffic) read(company, conn string, at time.Time, elems ...readElem) {
	newID, _, msgID := g.ids()
	sendLegacy, sendNew := g.services(at)
	byType := map[string]*occ{}
	var occs []*occ
	var dts []any
	for _, e := range elems {
		o := g.newOcc(key("read.completed", company, conn, e.dataType, e.status), "read.completed", company, at, false)
		byType[e.dataType] = o
		occs = append(occs, o)
		dts = append(dts, map[string]any{"connectionId": conn, "dataType": e.dataType, "recordsModified": e.modified, "status": e.status})
	}
	nb, err := codathooktest.Sample("read.completed", codathooktest.SampleOptions{ID: newID, CompanyID: company, GeneratedDate: genDate(at)})
	if err != nil {
		g.m.t.Fatal(err)
	}
	nb = editJSON(g.m.t, nb, func(doc map[string]any) { doc["payload"].(map[string]any)["dataTypes"] = dts })
	if sendNew {
		for _, o := range occs {
			g.check(nb, o)
		}
		d := g.deliver(formatNew, company, newID, msgID, nb, at, occs...)
		d.byType = byType
	}
	if !sendLegacy {
		return
	}
	for i, e := range elems {
		rules := []string{"Data sync completed"}
		if e.status != "Complete" {
			rules[0] = "Data Sync Status Changed To Error"
		} else if e.modified && g.ddc[company] {
			rules = append(rules, "Dataset data changed")
		}
		dataset := fmt.Sprintf("ds-%d-%d", g.n, i)
		for _, rule := range rules {
			_, alertID, _ := g.ids()
			lb, err := codathooktest.LegacySample(rule, codathooktest.SampleOptions{ID: alertID, CompanyID: company, ConnectionID: conn, DataType: e.dataType, Status: e.status})
			if err != nil {
				g.m.t.Fatal(err)
			}
			// Each sync has its own dataset; the samples share one.
			lb = editJSON(g.m.t, lb, func(doc map[string]any) { doc["Data"].(map[string]any)["datasetId"] = dataset })
			g.check(lb, occs[i])
			d := g.deliver(formatLegacy, company, alertID, "", lb, at, occs[i])
			d.byType = map[string]*occ{e.dataType: occs[i]}
		}
	}
}

// check makes sure that the receiver will see body as carrying o's
// occurrence key, so that a twin the receiver fails to match is the
// receiver's fault, not the generator's.
func (g *traffic) check(body []byte, o *occ) {
	g.m.t.Helper()
	ev, err := normalize.Parse(body)
	if err != nil {
		g.m.t.Fatalf("traffic: %v in %s", err, body)
	}
	for _, n := range ev.Occurrences() {
		got := key(n.Type, n.CompanyID, n.ConnectionID, n.DataType, n.Status)
		if o.exact {
			got = "exact|" + n.ExactID
		}
		if got == o.k {
			return
		}
	}
	g.m.t.Fatalf("traffic: body %s does not carry occurrence %s: %+v", body, o.k, ev.Occurrences())
}

func editJSON(t interface{ Fatal(...any) }, body []byte, fn func(map[string]any)) []byte {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	fn(doc)
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// customers generates a customer's Codat traffic, per company and day:
//
//   - a daily sync of each connection, 01:00-03:00: read.completed with
//     three data types (daily keys), now and then one failed;
//   - one to four push operations, 08:00-18:00 (exact keys);
//   - on about one day in three a connection flaps, 08:00-19:00:
//     disconnected, reconnected, and on half of those days disconnected
//     and reconnected again, both within 3 minutes (bursty keys);
//   - on about one day in four a manual re-sync of invoices, 09:00-18:00,
//     twice within 5 minutes (a bursty key that is also a daily key).
//
// The second company has the Dataset data changed rule as well.
func (g *traffic) customers(companies []string) {
	if len(companies) > 1 {
		g.ddc[companies[1]] = true
	}
	end := g.m.steps[len(g.m.steps)-1].end
	for day := g.m.start; day.Before(end); day = day.Add(24 * time.Hour) {
		for ci, co := range companies {
			conns := []string{co + "-conn-a"}
			if ci%3 == 2 {
				conns = append(conns, co+"-conn-b")
			}
			for _, conn := range conns {
				at := day.Add(time.Hour + g.between(0, 2*time.Hour))
				var elems []readElem
				for _, dt := range readDataTypes {
					e := readElem{dataType: dt, status: "Complete", modified: g.chance(0.5)}
					if g.chance(0.05) {
						e.status, e.modified = "ProcessingError", false
					}
					elems = append(elems, e)
				}
				g.readIfFree(co, conn, at, elems)
			}
			for range 1 + g.rng.IntN(4) {
				at := day.Add(8*time.Hour + g.between(0, 10*time.Hour))
				if g.chance(0.7) {
					g.push("write.successful", "invoices", co, conns[0], at)
				} else {
					g.push("write.unsuccessful", "bills", co, conns[0], at)
				}
			}
			if g.chance(0.35) {
				conn := conns[g.rng.IntN(len(conns))]
				t0 := day.Add(8*time.Hour + g.between(0, 11*time.Hour))
				down := []time.Time{t0}
				up := []time.Time{t0.Add(g.between(30*time.Second, 80*time.Second))}
				if g.chance(0.5) {
					down = append(down, t0.Add(g.between(100*time.Second, 170*time.Second)))
					up = append(up, t0.Add(g.between(190*time.Second, 280*time.Second)))
				}
				kd := key("connection.disconnected", co, conn, "", "Deauthorized")
				ku := key("connection.reconnected", co, conn, "", "Linked")
				if g.reserve(map[string][]time.Time{kd: down, ku: up}) {
					g.connection("connection.disconnected", co, conn, "Deauthorized", down...)
					g.connection("connection.reconnected", co, conn, "Linked", up...)
				}
			}
			if g.chance(0.25) {
				t0 := day.Add(9*time.Hour + g.between(0, 9*time.Hour))
				t1 := t0.Add(g.between(60*time.Second, burstSpan))
				g.readIfFree(co, conns[0], t0, []readElem{{dataType: "invoices", status: "Complete"}})
				g.readIfFree(co, conns[0], t1, []readElem{{dataType: "invoices", status: "Complete", modified: true}})
			}
		}
	}
}

// readIfFree generates a sync unless one of its elements' keys would break
// the timing rules.
func (g *traffic) readIfFree(company, conn string, at time.Time, elems []readElem) {
	groups := map[string][]time.Time{}
	for _, e := range elems {
		groups[key("read.completed", company, conn, e.dataType, e.status)] = []time.Time{at}
	}
	if g.reserve(groups) {
		g.read(company, conn, at, elems...)
	}
}
