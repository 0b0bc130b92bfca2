package service_test

import (
	"context"
	"log"
	"os/signal"
	"syscall"

	"github.com/quire-print/quire/pipeline/service"
	"github.com/quire-print/quire/pipeline/storage/s3store"
)

// Run with RabbitMQ, S3 (credentials from the AWS environment or the
// pod's role) and a listener per audience: parents' preview over TLS,
// operators' endpoints on a private port. A stop (SIGTERM) drains the
// envelopes in hand, then the listeners.
func ExampleRun() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	err := service.Run(ctx, service.Config{
		AMQPURL: "amqps://quire:secret@rabbitmq.internal:5671/",
		S3:      s3store.Config{Endpoint: "s3.eu-west-2.amazonaws.com", Region: "eu-west-2", Bucket: "quire-outputs"},
		Public:  service.Listener{Addr: ":8443", CertFile: "/tls/tls.crt", KeyFile: "/tls/tls.key"},
		Admin:   service.Listener{Addr: ":9090"},
	})
	if err != nil {
		log.Fatal(err)
	}
}
