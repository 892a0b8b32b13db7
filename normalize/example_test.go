package normalize_test

import (
	"fmt"

	"github.com/codathook/codathook/normalize"
)

// A legacy rule body becomes the new event type, with the legacy fields kept.
func ExampleParse() {
	body := []byte(`{
	  "AlertId": "a9367074-b5c3-42c4-9be4-be129f43577e",
	  "RuleType": "Push Operation Status Changed()",
	  "ClientId": "bae71d36-ff47-420a-b4a6-f8c9ddf41140",
	  "CompanyId": "8a210b68-6988-11ed-a1eb-0242ac120002",
	  "DataConnectionId": "2e9d2c44-f675-40ba-8049-353bfcb5e171",
	  "Message": "invoices triggered notification for PushOperationStatusChanged",
	  "Data": {"dataType": "invoices", "status": "Success", "pushOperationKey": "c2f8847d-3047-4619-a157-6d947d8e4a73"}
	}`)
	ev, err := normalize.Parse(body)
	if err != nil {
		fmt.Println(err)
		return
	}
	w := ev.Typed.(*normalize.WriteEvent)
	fmt.Println(ev.Format, ev.Type)
	fmt.Println(w.DataType(), w.Payload.Status, w.Payload.ID)
	fmt.Println(ev.Legacy.Rule, "/", ev.Legacy.Message)
	// Output:
	// legacy invoices.write.successful
	// invoices Success c2f8847d-3047-4619-a157-6d947d8e4a73
	// PushOperationStatusChanged / invoices triggered notification for PushOperationStatusChanged
}

// A new-format read.completed gives one occurrence per dataTypes element.
func ExampleParse_readCompleted() {
	body := []byte(`{"id":"743ec94a-8aa4-44bb-8bd4-e1855ee0e74b","eventType":"read.completed","generatedDate":"2022-10-23T00:00:00.000Z",` +
		`"payload":{"referenceCompany":{"id":"0498e921-9b53-4396-a412-4f2f5983b0a2","name":"Toft stores"},` +
		`"dataTypes":[{"connectionId":"2e9d2c44","dataType":"invoices","recordsModified":false,"status":"Complete"},` +
		`{"connectionId":"2e9d2c44","dataType":"bills","recordsModified":true,"status":"Complete"}]}}`)
	ev, err := normalize.Parse(body)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(ev.Format, ev.Type, ev.CompanyID)
	for _, o := range ev.Occurrences() {
		fmt.Println(o.Element, o.DataType, o.Status)
	}
	// Output:
	// new read.completed 0498e921-9b53-4396-a412-4f2f5983b0a2
	// 0 invoices Complete
	// 1 bills Complete
}

// Bodies that are not JSON objects are a *MalformedError; other objects are
// FormatUnknown, not an error.
func ExampleClassify() {
	for _, body := range []string{
		`{"eventType":"company.created"}`,
		`{"RuleType":"Data sync completed"}`,
		`{"companyId":"c","bankAccount":{}}`,
		`[1,2]`,
	} {
		f, err := normalize.Classify([]byte(body))
		fmt.Printf("%q %v\n", f, err)
	}
	// Output:
	// "new" <nil>
	// "legacy" <nil>
	// "unknown" <nil>
	// "" normalize: malformed body: top-level value is not an object at offset 0
}
