package codathooktest

import "testing"

func TestRewrite(t *testing.T) {
	t.Parallel()
	in := []byte(`{"id":"x","eventType":"invoices.write.successful","payload":{"id":"k","n":1.50}}`)
	same, err := rewrite(in, SampleOptions{Published: true})
	if err != nil || string(same) != string(in) {
		t.Errorf("rewrite with only Published = %s, %v; want the input unchanged", same, err)
	}
	got, err := rewrite(in, SampleOptions{ID: "y<&>", Published: true})
	if want := `{"eventType":"invoices.write.successful","id":"y<&>","payload":{"id":"k","n":1.50}}`; err != nil || string(got) != want {
		t.Errorf("rewrite = %s, %v; want %s", got, err, want)
	}
	for _, bad := range []string{`[1]`, `null`, `{`, `"s"`} {
		if _, err := rewrite([]byte(bad), SampleOptions{ID: "y"}); err == nil {
			t.Errorf("rewrite(%s) error = nil, want an error", bad)
		}
	}
	if _, err := rewrite(in, SampleOptions{DataType: "a.b"}); err == nil {
		t.Error("rewrite with DataType a.b error = nil, want an error")
	}
}
