package codathookecho_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/codathook/codathook"
	"github.com/codathook/codathook/adapters/codathookecho"
	"github.com/codathook/codathook/codathooktest"
)

func ExampleHandler() {
	rcv, err := codathook.New(
		codathook.WithSecrets(codathooktest.DevSecret), // os.Getenv("CODAT_WEBHOOK_SECRET")
		codathook.WithLegacyAuthorization(codathooktest.DevAuthorization),
		codathook.WithLogger(slog.New(slog.DiscardHandler)),
	)
	if err != nil {
		panic(err)
	}
	defer rcv.Close(context.Background())
	err = codathook.On(rcv, "connection.connected", func(ctx context.Context, ev *codathook.ConnectionEvent) error {
		d, _ := codathook.DeliveryFromContext(ctx)
		fmt.Println("tenant", d.Request.PathValue("tenant"), "connected", ev.Payload.Connection.Status)
		return nil
	})
	if err != nil {
		panic(err)
	}

	e := echo.New()
	e.Use(middleware.Recover())
	e.POST("/webhooks/:tenant/codat", codathookecho.Handler(rcv, codathook.EndpointNew))
	e.POST("/webhooks/:tenant/codat/legacy", codathookecho.Handler(rcv, codathook.EndpointLegacy))

	body, _ := codathooktest.Sample("connection.connected", codathooktest.SampleOptions{})
	req := codathooktest.MustSigner(codathooktest.DevSecret).NewRequest(http.MethodPost, "/webhooks/acme/codat", body)
	resp := codathooktest.Do(e, req)
	fmt.Println(resp.StatusCode, resp.Header.Get(codathook.HeaderResult))
	// Output:
	// tenant acme connected Linked
	// 204 processed
}

func ExampleMiddleware() {
	rcv, err := codathook.New(
		codathook.WithSecrets(codathooktest.DevSecret),
		codathook.WithLogger(slog.New(slog.DiscardHandler)),
	)
	if err != nil {
		panic(err)
	}
	defer rcv.Close(context.Background())

	e := echo.New()
	e.POST("/webhooks/codat", func(c echo.Context) error {
		ev, _ := codathookecho.Event(c)
		var payload struct {
			EventType string `json:"eventType"`
		}
		if err := c.Bind(&payload); err != nil { // the verified body, restored
			return err
		}
		fmt.Println(ev.Type, payload.EventType)
		return c.NoContent(http.StatusNoContent) // a 2xx commits the delivery
	}, codathookecho.Middleware(rcv, codathook.EndpointNew))

	body, _ := codathooktest.Sample("read.completed", codathooktest.SampleOptions{})
	signer := codathooktest.MustSigner(codathooktest.DevSecret)
	signer.MsgID = "msg_" + codathooktest.NewID() // a retry keeps its message id
	resp := codathooktest.Do(e, signer.NewRequest(http.MethodPost, "/webhooks/codat", body))
	fmt.Println(resp.StatusCode)
	resp = codathooktest.Do(e, signer.NewRequest(http.MethodPost, "/webhooks/codat", body))
	fmt.Println(resp.StatusCode, resp.Header.Get(codathook.HeaderResult))
	// Output:
	// read.completed read.completed
	// 204
	// 204 duplicate
}
