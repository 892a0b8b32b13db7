package codathookotel_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/codathook/codathook"
	"github.com/codathook/codathook/adapters/codathookotel"
	"github.com/codathook/codathook/codathooktest"
)

func Example() {
	// In production: your exporters' providers, or Config{} for the global ones.
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))

	inst, err := codathookotel.New(codathookotel.Config{TracerProvider: tp, MeterProvider: mp})
	if err != nil {
		panic(err)
	}
	rcv, err := codathook.New(
		codathook.WithSecrets(codathooktest.DevSecret), // os.Getenv("CODAT_WEBHOOK_SECRET")
		codathook.WithObserver(inst.Observe),
		codathook.WithLogger(slog.New(slog.DiscardHandler)),
	)
	if err != nil {
		panic(err)
	}
	defer rcv.Close(context.Background())
	inst.Register(rcv) // for the metrics read from rcv.Stats() and rcv.Migration(ctx)

	mux := http.NewServeMux()
	mux.Handle("POST /webhooks/codat", inst.Wrap(rcv.Handler(codathook.EndpointNew)))
	handler := otelhttp.NewHandler(mux, "webhooks", otelhttp.WithTracerProvider(tp)) // the outer span

	body, _ := codathooktest.Sample("connection.connected", codathooktest.SampleOptions{})
	signer := codathooktest.MustSigner(codathooktest.DevSecret)
	signer.MsgID = "msg_1"
	for range 2 { // a delivery and its retry
		resp := codathooktest.Do(handler, signer.NewRequest(http.MethodPost, "/webhooks/codat", body))
		fmt.Println(resp.StatusCode, resp.Header.Get(codathook.HeaderResult))
	}

	names := map[trace.SpanID]string{}
	for _, s := range spans.GetSpans() {
		names[s.SpanContext.SpanID()] = s.Name
	}
	for _, s := range spans.GetSpans() { // in the order they ended
		switch {
		case !strings.HasPrefix(s.Name, "codathook."):
			// otelhttp's span
		case strings.HasPrefix(s.Name, "codathook.delivery"):
			fmt.Print(s.Name, ", child of the outer span: ", s.Parent.IsValid(), "\n")
			for _, kv := range s.Attributes {
				fmt.Printf("  %s=%s\n", kv.Key, kv.Value.Emit())
			}
		default: // a step of the delivery: the store's claim and settle
			fmt.Print(s.Name, ", child of ", names[s.Parent.SpanID()], "\n")
		}
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		panic(err)
	}
	var counts []string
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name == "codathook.deliveries" {
				for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
					r, _ := dp.Attributes.Value("codathook.result")
					counts = append(counts, fmt.Sprint(m.Name, " ", r.Emit(), " ", dp.Value))
				}
			}
		}
	}
	slices.Sort(counts)
	fmt.Println(strings.Join(counts, "\n"))
	// Output:
	// 204 processed
	// 204 duplicate
	// codathook.dedupe.claim, child of codathook.delivery new
	// codathook.dedupe.settle, child of codathook.delivery new
	// codathook.delivery new, child of the outer span: true
	//   http.request.method=POST
	//   codathook.endpoint=new
	//   codathook.format=new
	//   codathook.event_type=connection.connected
	//   codathook.result=processed
	//   codathook.delivery_id=msg:msg_1
	//   http.response.status_code=204
	// codathook.delivery new, child of the outer span: true
	//   http.request.method=POST
	//   codathook.endpoint=new
	//   codathook.result=duplicate
	//   codathook.match=message
	//   codathook.delivery_id=msg:msg_1
	//   http.response.status_code=204
	// codathook.deliveries duplicate 1
	// codathook.deliveries processed 1
}
