package codathookprom_test

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/codathook/codathook"
	"github.com/codathook/codathook/adapters/codathookprom"
	"github.com/codathook/codathook/codathooktest"
)

func ExampleCollector() {
	col := codathookprom.New()
	rcv, err := codathook.New(
		codathook.WithSecrets(codathooktest.DevSecret), // os.Getenv("CODAT_WEBHOOK_SECRET")
		codathook.WithObserver(col.Observe),
		codathook.WithLogger(slog.New(slog.DiscardHandler)),
	)
	if err != nil {
		panic(err)
	}
	defer rcv.Close(context.Background())
	col.Attach(rcv) // flag, dedupe and migration counters, read at each scrape

	reg := prometheus.NewRegistry() // or prometheus.MustRegister(col)
	reg.MustRegister(col)
	mux := http.NewServeMux()
	mux.Handle("POST /webhooks/codat", col.InFlight(codathook.EndpointNew, rcv.Handler(codathook.EndpointNew)))
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	body, _ := codathooktest.Sample("read.completed", codathooktest.SampleOptions{})
	req := codathooktest.MustSigner(codathooktest.DevSecret).NewRequest(http.MethodPost, "/webhooks/codat", body)
	resp, err := codathooktest.Send(context.Background(), nil, srv.URL+"/webhooks/codat", req)
	if err != nil {
		panic(err)
	}
	resp.Body.Close()

	scrape, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		panic(err)
	}
	defer scrape.Body.Close()
	sc := bufio.NewScanner(scrape.Body)
	for sc.Scan() {
		if line := sc.Text(); strings.HasPrefix(line, "codathook_deliveries_total") || strings.HasPrefix(line, "codathook_delivery_duration_seconds_count") {
			fmt.Println(line)
		}
	}
	// Output:
	// codathook_deliveries_total{endpoint="new",event_type="read.completed",format="new",result="processed"} 1
	// codathook_delivery_duration_seconds_count{endpoint="new",result="processed"} 1
}
