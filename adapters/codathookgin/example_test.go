package codathookgin_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/codathook/codathook"
	"github.com/codathook/codathook/adapters/codathookgin"
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

	r := gin.New()
	r.Use(gin.Recovery())
	r.POST("/webhooks/:tenant/codat", codathookgin.Handler(rcv, codathook.EndpointNew))
	r.POST("/webhooks/:tenant/codat/legacy", codathookgin.Handler(rcv, codathook.EndpointLegacy))

	body, _ := codathooktest.Sample("connection.connected", codathooktest.SampleOptions{})
	req := codathooktest.MustSigner(codathooktest.DevSecret).NewRequest(http.MethodPost, "/webhooks/acme/codat", body)
	resp := codathooktest.Do(r, req)
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

	r := gin.New()
	r.POST("/webhooks/codat", codathookgin.Middleware(rcv, codathook.EndpointNew), func(c *gin.Context) {
		ev, _ := codathookgin.Event(c)
		var payload struct {
			EventType string `json:"eventType"`
		}
		if err := c.ShouldBindJSON(&payload); err != nil { // the verified body, restored
			c.AbortWithStatus(http.StatusBadRequest)
			return
		}
		fmt.Println(ev.Type, payload.EventType)
		c.Status(http.StatusNoContent) // a 2xx commits the delivery
	})

	body, _ := codathooktest.Sample("read.completed", codathooktest.SampleOptions{})
	signer := codathooktest.MustSigner(codathooktest.DevSecret)
	signer.MsgID = "msg_" + codathooktest.NewID() // a retry keeps its message id
	resp := codathooktest.Do(r, signer.NewRequest(http.MethodPost, "/webhooks/codat", body))
	fmt.Println(resp.StatusCode)
	resp = codathooktest.Do(r, signer.NewRequest(http.MethodPost, "/webhooks/codat", body))
	fmt.Println(resp.StatusCode, resp.Header.Get(codathook.HeaderResult))
	// Output:
	// read.completed read.completed
	// 204
	// 204 duplicate
}
